"""The data files written next to the report: customers.csv/.parquet/.xlsx and model.json.

``customers.csv`` and ``customers.parquet`` hold every customer with the
analysis' identifiers as column names (for analysts). ``customers.xlsx`` holds
the action lists for account managers: a summary sheet with the action plan
and its money, then one sheet per recommended action with the customers to
contact, largest value at stake first, headers in the report language.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from babel.numbers import get_currency_symbol

from clvreport.analysis import Analysis, join_columns
from clvreport.audiences import audience
from clvreport.comparison import KeyFigures
from clvreport.comparison import key_figures as compute_key_figures
from clvreport.config import ClientConfig
from clvreport.errors import WRITE_ERRNOS
from clvreport.experiments import ACTION_COLUMNS, CONTROL, LearnedRate
from clvreport.i18n import Translator
from clvreport.memory import release_free_memory
from clvreport.models.next_purchase import validation_entries
from clvreport.models.threads import in_order
from clvreport.next_purchase_text import risk_text
from clvreport.recommendations import PlanRules, customer_actions, plan_actions
from clvreport.revenue_profile import season_check

__all__ = [
    "BATCH_ROWS",
    "CUSTOMERS_FILE_COLUMNS",
    "SHEET_COLUMNS",
    "CustomerRows",
    "customer_table",
    "write_action_lists",
    "write_outputs",
]

CUSTOMERS_FILE_COLUMNS = [
    "customer_id",
    "segment",
    "active",
    "plan",
    "action",
    "on_list",
    "control_group",
    "value_tier",
    "n_purchases",
    "revenue",
    "first_purchase",
    "last_purchase",
    "lifespan_years",
    "frequency",
    "recency",
    "T",
    "n_periods",
    "monetary_value",
    "monetary_value_capped",
    "expected_remaining_years",
    "historic_clv",
    "p_alive",
    "p_silence",
    "at_risk",
    "next_purchase_median",
    "next_purchase_low",
    "next_purchase_high",
    "p_purchase_30d",
    "p_purchase_90d",
    "p_purchase_next_period",
    "p_purchase_horizon",
    "next_gift_periods",
    "next_gift_low",
    "next_gift_high",
    "next_renewal",
    "p_cancel_before_renewal",
    "typical_interval_days",
    "overdue_ratio",
    "risk_label",
    "reason",
    "expected_purchases",
    "purchases_low",
    "purchases_high",
    "expected_spend",
    "clv",
    "clv_low",
    "clv_high",
    "clv_if_alive",
    "value_at_stake",
    "clv_lifetime",
    "value_at_stake_lifetime",
    "p_cancel_soon",
    "months_since_end",
    "winback_value",
]
"""Columns of ``customers.csv`` (the model columns only when a model could be used),
followed by the client's ``data.columns.extra`` columns after ``customer_id``.
``monetary_value_capped`` (the mean repeat spend the spend model used, exceptional
orders counted as ordinary ones) only when the model capped such orders
(``model.json``: ``spend_caps``). ``lifespan_years`` is the customer lifespan (first to
last purchase) and ``expected_remaining_years`` the rule of thumb's years still to come
(empty without a retention rate), as defined in :mod:`clvreport.definitions`.
``p_cancel_soon``, ``months_since_end`` and ``winback_value`` only for subscriptions
(:mod:`clvreport.subscribers`). ``next_purchase_median``/``_low``/``_high`` (the
median and 80% window of the next purchase given one within the horizon, empty when
none is expected), ``p_purchase_30d``/``_90d``/``_horizon``, ``typical_interval_days``,
``overdue_ratio`` and ``risk_label`` (``low``/``elevated``/``high``) for the shop models
(:mod:`clvreport.models.next_purchase`); for donors ``p_purchase_next_period``,
``p_purchase_horizon`` (whole giving periods), ``next_gift_periods``,
``next_gift_low``/``_high`` (the periods of the next gift's 80% window),
``typical_interval_days``, ``overdue_ratio`` and ``risk_label``
(:func:`clvreport.donors.next_gift_table`); for subscriptions ``next_renewal``,
``p_cancel_before_renewal`` and ``risk_label``
(:func:`clvreport.subscribers.next_renewal_table`); ``reason`` (one sentence in the
report language, :meth:`clvreport.audiences.base.Audience.reasons`) when written with
a translator."""

SHEET_COLUMNS = [
    "customer_id",
    "control_group",
    "segment",
    "action",
    "channel",
    "risk_label",
    "next_purchase_median",
    "next_purchase_low",
    "next_purchase_high",
    "p_purchase_90d",
    "p_purchase_next_period",
    "next_gift_low",
    "next_gift_high",
    "next_renewal",
    "p_cancel_before_renewal",
    "overdue_ratio",
    "reason",
    "value_at_stake",
    "value_kept",
    "contact_cost",
    "p_alive",
    "clv",
    "expected_purchases",
    "n_purchases",
    "revenue",
    "first_purchase",
    "last_purchase",
]
"""Columns of an action list (headers from ``xlsx.columns.<name>``); the client's
extra columns follow ``customer_id``. The next-purchase columns come first after the
action (what an account manager reads before calling), when the model gave them."""

_KIND = {
    "customer_id": "text",
    "control_group": "text",
    "segment": "text",
    "action": "wrap",
    "channel": "text",
    "risk_label": "text",
    "next_purchase_median": "date",
    "next_purchase_low": "date",
    "next_purchase_high": "date",
    "p_purchase_90d": "percent",
    "p_purchase_next_period": "percent",
    "next_gift_low": "text",
    "next_gift_high": "text",
    "next_renewal": "date",
    "p_cancel_before_renewal": "percent",
    "overdue_ratio": "decimal",
    "reason": "wrap",
    "value_at_stake": "money",
    "value_kept": "money",
    "contact_cost": "money2",
    "p_alive": "percent",
    "clv": "money",
    "expected_purchases": "decimal",
    "n_purchases": "integer",
    "revenue": "money",
    "first_purchase": "date",
    "last_purchase": "date",
}
_WIDTH = {"text": 18, "wrap": 60, "money": 16, "money2": 14, "percent": 14, "decimal": 14}
_WIDTH.update({"integer": 12, "date": 14})
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
_HEADER_ROW = 2  # rows 0-1: title and note; row 2: the header; data from row 3
EXCEL_MAX_ROWS = 1_048_576
"""Rows an Excel sheet can hold; a list sheet never holds more (title, note and header included)."""
CSV_DECIMALS = 4
"""Decimals of the float columns in ``customers.csv``."""
BATCH_ROWS = 128 * 1024
"""Rows of ``customers.csv``/``.parquet`` sorted and written at a time (each batch is
copied twice on its way out: a million rows of fifty columns peaked 1.8 GB above the
customers' own memory, 131,072 rows 0.6 GB, at the same CPU time)."""


def customer_table(analysis: Analysis) -> pd.DataFrame:
    """One row per customer with segment, action, history, model inputs and scores.

    Columns are :data:`CUSTOMERS_FILE_COLUMNS` (the model columns only when a model
    could be used), with the client's ``data.columns.extra`` columns right
    after ``customer_id``; ``action`` is the recommended action's key;
    ``frequency``, ``recency``, ``T`` and ``monetary_value`` are in the
    client's time unit (for donors ``n_periods`` instead of ``T``: the
    giving opportunities observed, ``recency`` the last one given in).
    Sorted by expected value (without a model: revenue), largest first; equal
    values keep the analysis' order, so the first rows are the top tiers.

    Examples
    --------
    >>> customer_table(analysis).columns[:3].tolist()  # doctest: +SKIP
    ['customer_id', 'segment', 'action']
    """
    return CustomerRows.of(analysis).to_pandas()


@dataclass(frozen=True)
class CustomerRows:
    """The rows of ``customers.csv``/``.parquet`` without a sorted copy of the customers.

    The columns share the analysis' memory where Arrow allows (numbers, dates
    and text are not copied); ``order`` is the file's row order. The files are
    written in batches of that order (:meth:`batches`), so a report of millions
    of customers never holds a second sorted table.

    Attributes
    ----------
    table
        The columns of :func:`customer_table`, in the analysis' row order,
        with the pandas metadata of the sorted frame.
    order
        Row positions in the file's order (by value, largest first, stable).
    as_text
        Categorical columns held as codes and written as text (the actions and
        the reason sentences: 17 million customers share a few hundred thousand
        sentences), decoded a batch at a time.
    """

    table: Any
    order: np.ndarray
    as_text: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        analysis: Analysis,
        groups: pd.Series | None = None,
        on_list: pd.Series | None = None,
        rules: PlanRules | None = None,
        columns: Mapping[str, pd.Series] | None = None,
        t: Translator | None = None,
    ) -> CustomerRows:
        """The rows of ``analysis`` (see :func:`customer_table`).

        ``groups``: each listed customer's ``"treated"``/``"control"`` group
        (indexed like ``analysis.customers``), for the ``control_group`` column;
        ``on_list``: :func:`on_action_list`, for the ``on_list`` column;
        ``rules``: the report's plan rules (read from the client's config without);
        ``columns``: :func:`customer_columns` of ``analysis``, when already computed
        (the report computes them once, for the comparison and the files).
        ``t``: the report language, for the ``reason`` column (none without).
        """
        customers = analysis.customers
        value = "clv" if analysis.has_predictions else "revenue"
        columns = dict(customer_columns(analysis, rules) if columns is None else columns)
        if on_list is not None:
            columns["on_list"] = on_list.reindex(customers.index).fillna(False).astype(bool)
        if groups is not None:
            control = groups.reindex(customers.index).eq(CONTROL).fillna(False)
            columns["control_group"] = control.astype(bool)
        config = analysis.config
        said = (
            None
            if t is None
            else audience(config.business).reasons(
                customers,
                t,
                as_of=analysis.as_of,
                horizon_months=config.horizon_months,
                config=config,
            )
        )
        if said is not None:
            columns["reason"] = said
        extra = [c for c in analysis.config.data.columns.extra or () if c in columns]
        names = [c for c in CUSTOMERS_FILE_COLUMNS if c in columns]
        names[1:1] = extra
        as_text = tuple(
            name
            for name in ("action", "reason")
            if name in names and isinstance(columns[name].dtype, pd.CategoricalDtype)
        )
        arrays = [pa.Array.from_pandas(columns[name]) for name in names]
        # pandas metadata from the first rows (object columns need values to name their
        # type), with the columns written as text as text
        sample = pd.DataFrame({name: columns[name].iloc[:10_000] for name in names})
        for name in as_text:
            sample[name] = sample[name].astype("str")
        schema = pa.Schema.from_pandas(sample, preserve_index=False)
        table = pa.Table.from_arrays(arrays, names=names).replace_schema_metadata(schema.metadata)
        key = columns[value].to_numpy(dtype=float, na_value=np.nan)
        order = np.argsort(np.where(np.isnan(key), np.inf, -key), kind="stable")
        return cls(table, order, as_text)

    @property
    def schema(self) -> Any:
        """The files' schema: the table's, with the :attr:`as_text` columns as text."""
        return self._decoded(self.table.slice(0, 0)).schema

    def _decoded(self, table: Any) -> Any:
        """``table`` with its :attr:`as_text` columns turned from codes into text."""
        for name in self.as_text:
            index = table.schema.get_field_index(name)
            column = table.column(index)
            table = table.set_column(index, name, column.cast(column.type.value_type))
        return table

    def __len__(self) -> int:
        return len(self.order)

    def batches(self, rows: int | None = None) -> Iterator[Any]:
        """The rows in file order, as Arrow record batches of at most ``rows`` rows.

        ``rows`` defaults to :data:`BATCH_ROWS`.
        """
        rows = rows or BATCH_ROWS
        for start in range(0, len(self.order), rows):
            yield from self.rows_at(start, rows)

    def rows_at(self, start: int, rows: int | None = None) -> list[Any]:
        """The record batches of the ``rows`` rows from position ``start`` in file order.

        ``rows`` defaults to :data:`BATCH_ROWS`.
        """
        rows = rows or BATCH_ROWS
        return self._decoded(self.table.take(self.order[start : start + rows])).to_batches()

    def to_pandas(self) -> pd.DataFrame:
        """The sorted table as a DataFrame (a full copy: for tests and small clients)."""
        return self._decoded(self.table.take(self.order)).to_pandas().reset_index(drop=True)


def customer_columns(analysis: Analysis, rules: PlanRules | None = None) -> dict[str, pd.Series]:
    """The columns of :func:`customer_table` but the lists' (``on_list``, ``control_group``).

    The customers' own columns, the value tier, the action of their segment
    under ``rules`` (read from the client's config without) and the model
    inputs, aligned with ``analysis.customers`` (the columns are shared, not copied).

    Examples
    --------
    >>> customer_columns(analysis)["action"].head(1).tolist()  # doctest: +SKIP
    ['reward']
    """
    from clvreport.concentration import value_tiers
    from clvreport.customer_groups import valued_customers

    customers = analysis.customers
    value = "clv" if analysis.has_predictions else "revenue"
    columns: dict[str, Any] = {c: customers[c] for c in customers.columns}
    # subscriptions: tiers of the running ones (an ended one has no tier), as in the report
    valued = valued_customers(customers) if analysis.has_predictions else customers
    columns["value_tier"] = value_tiers(valued, value).reindex(customers.index)
    rules = rules or PlanRules.from_config(analysis.config)
    action_of = {segment: rule["action"] for segment, rule in rules.segments.items()}
    columns["action"] = _actions(customers["segment"], action_of)
    columns.update(_summary_columns(analysis))
    return columns


def _list_mask(per_customer: pd.DataFrame, row: Any, priced: bool) -> np.ndarray:
    """Who is on the list of plan row ``row`` (a sheet of ``customers.xlsx``).

    Its customers; only those worth contacting when the action pays. The control
    group is included.
    """
    mine = (per_customer["action"] == row.action).to_numpy()
    if priced and bool(row.profitable):
        mine = mine & per_customer["contact"].to_numpy(dtype=bool)
    return mine


def on_action_list(per_customer: pd.DataFrame, plan: pd.DataFrame, priced: bool) -> pd.Series:
    """Whether each customer is on an action's list in ``customers.xlsx``.

    The ``on_list`` column of ``customers.csv``: the ``action`` column names the
    segment's recommended approach; only the listed customers are the ones the
    plan prices and the workbook lists (its sheets may show fewer, at most
    ``xlsx_max_rows``).

    Examples
    --------
    >>> on_action_list(per_customer, plan, priced=True).sum()  # doctest: +SKIP
    np.int64(884)
    """
    on = np.zeros(len(per_customer), dtype=bool)
    for row in plan.itertuples(index=False):
        if row.list_name is not None:
            on = on | _list_mask(per_customer, row, priced)
    return pd.Series(on, index=per_customer.index, name="on_list")


def _actions(segment: pd.Series, action_of: Mapping[str, str]) -> pd.Series:
    """Each customer's action key from their segment, looked up once per segment name."""
    if not isinstance(segment.dtype, pd.CategoricalDtype):
        return segment.astype(str).map(action_of)
    # codes into the actions (the files write them as text, a batch at a time)
    names = [action_of.get(str(name)) for name in segment.cat.categories]
    actions = pd.Index(sorted({name for name in names if name is not None}), dtype="str")
    by_segment = np.array([-1 if n is None else actions.get_loc(n) for n in names] + [-1])
    codes = segment.cat.codes.to_numpy()
    codes = by_segment[np.where(codes < 0, len(names), codes)]
    action = pd.Categorical.from_codes(codes, categories=actions)
    return pd.Series(action, index=segment.index, name="action")


def _summary_columns(analysis: Analysis) -> dict[str, pd.Series]:
    """The model inputs of ``analysis.summary``, aligned with ``analysis.customers``."""
    model_columns = ["frequency", "recency", "T", "n_periods", "monetary_value"]
    caps = analysis.model.spend_caps
    if caps is not None and caps.applied:
        model_columns.append(caps.column)  # what the stored spend model scores (comparison)
    inputs = audience(analysis.config.business).model_inputs(analysis.summary)
    wanted = [c for c in model_columns if c in inputs]
    joined = join_columns(analysis.customers[["customer_id"]], inputs[["customer_id", *wanted]])
    return {c: joined[c] for c in wanted}


def _formats(book: Any, t: Translator) -> dict[str, Any]:
    symbol = get_currency_symbol(t.currency, locale=t.locale) if t.locale else t.currency
    space = " " if t.language == "nl" else ""
    money = f'"{symbol}"{space}#,##0;"{symbol}"{space}-#,##0'
    money2 = f'"{symbol}"{space}#,##0.00;"{symbol}"{space}-#,##0.00'
    date = "dd-mm-yyyy" if t.language == "nl" else "dd/mm/yyyy"
    return {
        "text": None,
        "wrap": None,
        "money": book.add_format({"num_format": money}),
        "money2": book.add_format({"num_format": money2}),
        "percent": book.add_format({"num_format": "0.0%"}),
        "decimal": book.add_format({"num_format": "#,##0.0"}),
        "integer": book.add_format({"num_format": "#,##0"}),
        "date": book.add_format({"num_format": date}),
        "header": book.add_format({"bold": True, "bg_color": "#E7E6E6", "bottom": 1}),
        "title": book.add_format({"bold": True, "font_size": 13}),
        "note": book.add_format({"italic": True}),
        "total": book.add_format({"bold": True, "top": 1}),
        "total_money": book.add_format({"bold": True, "top": 1, "num_format": money}),
    }


def _cells(values: pd.Series, kind: str) -> list[Any]:
    """Plain Python values for one column: numbers as float (NaN → None), dates as serials."""
    if kind == "date":
        days = pd.to_datetime(values, errors="coerce").to_numpy(dtype="datetime64[D]")
        serial = (days - _EXCEL_EPOCH).astype("timedelta64[D]").astype("float64")
        serial[np.isnat(days)] = np.nan
        return [None if np.isnan(v) else float(v) for v in serial]
    if kind in ("text", "wrap"):
        return [None if pd.isna(v) else str(v) for v in values.tolist()]
    array = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    return [None if np.isnan(v) else float(v) for v in array]


def _write_table(
    sheet: Any,
    frame: pd.DataFrame,
    headers: Sequence[str],
    kinds: Sequence[str],
    formats: Mapping[str, Any],
    first_row: int,
) -> int:
    """Write the header and rows (row by row, as constant-memory mode needs); return rows."""
    for col, header in enumerate(headers):
        sheet.write_string(first_row, col, header, formats["header"])
    columns = [_cells(frame.iloc[:, i], kind) for i, kind in enumerate(kinds)]
    cell_formats = [formats[kind] for kind in kinds]
    numeric = [kind not in ("text", "wrap") for kind in kinds]
    for offset, row in enumerate(zip(*columns, strict=True) if columns else ()):
        r = first_row + 1 + offset
        for col, value in enumerate(row):
            if value is None:
                continue
            if numeric[col]:
                sheet.write_number(r, col, value, cell_formats[col])
            else:
                sheet.write_string(r, col, value, cell_formats[col])
    return len(frame)


def _finish_sheet(sheet: Any, kinds: Sequence[str], n_rows: int, first_row: int) -> None:
    for col, kind in enumerate(kinds):
        sheet.set_column(col, col, _WIDTH.get(kind, 16))
    sheet.freeze_panes(first_row + 1, 1)
    sheet.autofilter(first_row, 0, first_row + max(n_rows, 1), len(kinds) - 1)


def write_action_lists(
    path: Path | str,
    customers: pd.DataFrame,
    t: Translator,
    *,
    rules: PlanRules | None = None,
    labels: Mapping[str, str] | None = None,
    max_rows: int = 5000,
    extra: Sequence[str] = (),
    newly_at_risk: Sequence[str] | None = None,
    per_customer: pd.DataFrame | None = None,
    plan: pd.DataFrame | None = None,
    min_history_weeks: int = 0,
    as_of: dt.date | None = None,
    horizon_months: int = 12,
    config: ClientConfig | None = None,
) -> pd.DataFrame:
    """Write ``customers.xlsx``: the action plan and one customer list per recommended action.

    The first sheet (``xlsx.summary_sheet``: "Overzicht"/"Summary") lists
    every action with its segments, customers, value at stake, channel, cost,
    value kept, net return and advice ("Aanbevolen"/"Niet rendabel"), plus a
    total of the recommended ones. Each recommended action then gets a sheet
    named after it (:func:`~clvreport.recommendations.plan_actions`'s
    ``list_name``) with the customers it contacts, largest value at stake
    first, at most ``max_rows`` of them (a note says how many more are in
    ``customers.csv``). Headers are in the report language, segments are
    labels, money, percentages and dates carry number formats, the header row
    is frozen and has an autofilter. Written in constant-memory mode, so a
    million customers take seconds.

    Parameters
    ----------
    path
        The ``.xlsx`` file to write.
    customers
        One row per customer (``Analysis.customers`` columns).
    t
        Translator of the report language and currency.
    rules
        Default :meth:`PlanRules.default`.
    labels
        Segment code → label (default: the codes).
    max_rows
        Most customers per list sheet.
    extra
        Pass-through columns of ``customers`` shown after the customer number,
        under their own names (e.g. ``["email", "naam"]``).
    newly_at_risk
        Ids of the customers at risk now who were not at the previous report;
        when given (and not empty) a last sheet (``xlsx.newly_at_risk_sheet``)
        lists them with their own action, largest value at stake first.
    per_customer
        :func:`~clvreport.recommendations.customer_actions` of ``customers``
        under ``rules``, when already computed (the report has it). With a
        ``group`` column each list ends with its control group, marked "do
        not contact" (:mod:`clvreport.experiments`).
    plan
        The plan of ``per_customer``, when already computed (the report's).
    min_history_weeks
        Customers known for fewer weeks are listed after the others.
    as_of, horizon_months
        The report date and horizon, for each listed customer's ``reason``
        (:meth:`~clvreport.audiences.base.Audience.reasons`; none without ``as_of``).
    config
        The client's settings: whose reason sentence (``business``; a shop's without).

    Returns
    -------
    DataFrame
        The action plan written (:data:`~clvreport.recommendations.PLAN_COLUMNS`).

    Examples
    --------
    >>> plan = write_action_lists("customers.xlsx", analysis.customers,  # doctest: +SKIP
    ...                           Translator("nl", "EUR"), max_rows=5000)
    """
    import xlsxwriter

    rules = rules or PlanRules.default()
    labels = dict(labels or {})
    max_rows = max(0, min(int(max_rows), EXCEL_MAX_ROWS - _HEADER_ROW - 1))
    if per_customer is None:
        per_customer = customer_actions(customers, rules)
    priced = "value_at_stake" in customers and "clv" in customers
    if plan is None:
        plan = plan_actions(
            customers, rules, language=t.language, per_customer=per_customer, audience=t.audience
        )
    extra = [c for c in extra if c in customers]
    described = partial(
        _next_purchase_cells, t=t, as_of=as_of, horizon_months=horizon_months, config=config
    )

    # User text (customer ids, names, channels) starting with "=" stays text, never a formula.
    book = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    try:
        formats = _formats(book, t)
        summary = book.add_worksheet(t("xlsx.summary_sheet"))
        _write_summary(summary, plan, t, labels, formats)
        for row in plan.itertuples(index=False):
            if row.list_name is None:
                continue
            mine = per_customer[_list_mask(per_customer, row, priced)]
            # What the action is expected to keep first (the calls worth most on top);
            # customers known too briefly to judge after the others; the control group
            # last, so a list exported to a mailing tool can stop before it.
            control = (
                (mine["group"] == CONTROL).to_numpy()
                if "group" in mine
                else np.zeros(len(mine), dtype=bool)
            )
            tenure = customers["tenure_days"] if "tenure_days" in customers else None
            short = (
                tenure.reindex(mine.index).to_numpy(dtype=float) < 7 * min_history_weeks
                if tenure is not None and min_history_weeks
                else np.zeros(len(mine), dtype=bool)
            )
            order = np.lexsort(
                (
                    -np.nan_to_num(mine["value_at_stake"].to_numpy(dtype=float)),
                    -np.nan_to_num(mine["value_kept"].to_numpy(dtype=float)),
                    short,
                    control,
                )
            )
            shown = mine.iloc[order[:max_rows]]
            sheet = book.add_worksheet(row.list_name)
            _write_list(
                sheet, shown, len(mine), row, customers, t, labels, formats, extra, described
            )
        if newly_at_risk is not None and len(newly_at_risk):
            ids = set(map(str, newly_at_risk))
            chosen = customers["customer_id"].astype(str).isin(ids).to_numpy()
            base = customers[chosen]
            mine = per_customer.reindex(base.index)
            order = np.argsort(
                -np.nan_to_num(base["value_at_stake"].to_numpy(dtype=float)), kind="stable"
            )
            sheet = book.add_worksheet(t("xlsx.newly_at_risk_sheet"))
            advised = set(plan.loc[plan["profitable"].fillna(False).astype(bool), "action"])
            _write_newly_at_risk(
                sheet,
                base.iloc[order[:max_rows]],
                mine,
                len(base),
                t,
                labels,
                formats,
                extra,
                advised=advised,
                described=described,
            )
    finally:
        book.close()
    return plan


def _next_purchase_cells(
    rows: pd.DataFrame,
    *,
    t: Translator,
    as_of: dt.date | None,
    horizon_months: int,
    config: ClientConfig | None = None,
) -> dict[str, pd.Series]:
    """The listed customers' risk label in the report language and their reason sentence."""
    cells = {}
    if "risk_label" in rows:
        cells["risk_label"] = risk_text(rows["risk_label"], t)
    if as_of is not None:
        business = config.business if config is not None else None
        said = audience(business).reasons(
            rows, t, as_of=as_of, horizon_months=horizon_months, config=config
        )
        if said is not None:
            cells["reason"] = said
    return cells


def _write_list(
    sheet: Any,
    shown: pd.DataFrame,
    total: int,
    row: Any,
    customers: pd.DataFrame,
    t: Translator,
    labels: Mapping[str, str],
    formats: Mapping[str, Any],
    extra: Sequence[str],
    described: Callable[[pd.DataFrame], dict[str, pd.Series]] | None = None,
) -> None:
    name = t(f"recommendations.actions.{row.action}.name")
    what = t(f"recommendations.actions.{row.action}.what")
    sheet.write_string(0, 0, f"{name}: {what}", formats["title"])
    if pd.isna(row.value_kept):
        note = t("xlsx.list_note_no_model", customers=t.number(total))
    else:
        note = t(
            "xlsx.list_note",
            customers=t.number(total),
            channel=t(f"economics.by_channel.{row.channel}"),
            cost=t.money(row.cost),
            kept=t.money(row.value_kept),
            net=t.money(row.net_return),
            max_spend=t.money(row.max_spend_per_customer, digits=2),
        )
    if total > len(shown):
        more = t("xlsx.cap_note", shown=t.number(len(shown)), more=t.number(total - len(shown)))
        note = f"{note} {more}"
    held_back = int(getattr(row, "control", 0) or 0)
    if held_back:
        note = f"{note} {t('xlsx.control_note', control=t.number(held_back))}"
    sheet.write_string(1, 0, note, formats["note"])
    base = customers.loc[shown.index]
    cells = described(base) if described is not None else {}
    frame = pd.DataFrame(index=shown.index)
    for column in SHEET_COLUMNS:
        if column in cells:
            frame[column] = cells[column]
        elif column == "control_group":
            if "group" in shown and held_back:
                frame[column] = np.where(shown["group"] == CONTROL, t("xlsx.control_yes"), "")
        elif column == "segment":
            frame[column] = shown["segment"].map(lambda s: labels.get(s, s))
        elif column == "action":
            frame[column] = what
        elif column == "channel":
            frame[column] = t(f"economics.channels.{row.channel}")
        elif column in shown:
            frame[column] = shown[column]
        elif column in base:
            frame[column] = base[column]
    for i, column in enumerate(extra):
        frame.insert(1 + i, f"extra:{column}", base[column].astype("string"))
    columns = list(frame.columns)
    headers = [
        c.removeprefix("extra:") if c.startswith("extra:") else t(f"xlsx.columns.{c}")
        for c in columns
    ]
    kinds = ["text" if c.startswith("extra:") else _KIND[c] for c in columns]
    n = _write_table(sheet, frame, headers, kinds, formats, _HEADER_ROW)
    _finish_sheet(sheet, kinds, n, _HEADER_ROW)


def _write_newly_at_risk(
    sheet: Any,
    shown: pd.DataFrame,
    actions: pd.DataFrame,
    total: int,
    t: Translator,
    labels: Mapping[str, str],
    formats: Mapping[str, Any],
    extra: Sequence[str],
    *,
    advised: set[str],
    described: Callable[[pd.DataFrame], dict[str, pd.Series]] | None = None,
) -> None:
    """The customers who came at risk since the previous report, each with their own action.

    A customer's action is named only when the plan advises it and contacts them
    (worth the contact); otherwise the cell says no action pays.
    """
    stake = float(shown["value_at_stake"].sum()) if "value_at_stake" in shown else float("nan")
    sheet.write_string(0, 0, t("xlsx.newly_at_risk_title"), formats["title"])
    note = t("xlsx.newly_at_risk_note", customers=t.number(total), stake=t.money(stake))
    if total > len(shown):
        more = t("xlsx.cap_note", shown=t.number(len(shown)), more=t.number(total - len(shown)))
        note = f"{note} {more}"
    sheet.write_string(1, 0, note, formats["note"])
    own = actions.loc[shown.index]
    frame = pd.DataFrame(index=shown.index)

    contacted = own["contact"].fillna(False).astype(bool) if "contact" in own else False
    keys = own["action"].astype(object)
    paying = keys.isin(advised) & contacted

    def action_text(key: Any, pays: bool) -> str:
        if pd.isna(key) or not pays:
            return t("xlsx.no_paying_action")
        return t(f"recommendations.actions.{key}.name")

    cells = described(shown) if described is not None else {}
    for column in SHEET_COLUMNS:
        if column in cells:
            frame[column] = cells[column]
        elif column == "segment":
            frame[column] = shown["segment"].astype(str).map(lambda s: labels.get(s, s))
        elif column == "action":
            frame[column] = [action_text(k, p) for k, p in zip(keys, paying, strict=True)]
        elif column == "channel":
            frame[column] = (
                own["channel"]
                .astype(object)
                .map(lambda c: "–" if pd.isna(c) else t(f"economics.channels.{c}"))
            )
        elif column == "value_at_stake":
            # the stake the action is priced on (as in the action lists), not the horizon's
            frame[column] = own[column] if column in own else shown[column]
        elif column in own and column not in shown:
            frame[column] = own[column]
        elif column in shown:
            frame[column] = shown[column]
    for i, column in enumerate(extra):
        frame.insert(1 + i, f"extra:{column}", shown[column].astype("string"))
    columns = list(frame.columns)
    headers = [
        c.removeprefix("extra:") if c.startswith("extra:") else t(f"xlsx.columns.{c}")
        for c in columns
    ]
    kinds = ["text" if c.startswith("extra:") else _KIND[c] for c in columns]
    n = _write_table(sheet, frame, headers, kinds, formats, _HEADER_ROW)
    _finish_sheet(sheet, kinds, n, _HEADER_ROW)


_SUMMARY = [
    ("rank", "integer"),
    ("action", "text"),
    ("list_name", "text"),
    ("segments", "text"),
    ("segment_customers", "integer"),
    ("customers", "integer"),
    ("control", "integer"),
    ("value_at_stake", "money"),
    ("channel", "text"),
    ("cost_per_contact", "money2"),
    ("success_rate", "percent"),
    ("uplift", "percent"),
    ("rate_source", "text"),
    ("cost", "money"),
    ("value_kept", "money"),
    ("value_added", "money"),
    ("net_return", "money"),
    ("max_spend_per_customer", "money2"),
    ("advice", "text"),
    ("what", "wrap"),
]


def _advice(profitable: Any, t: Translator) -> str:
    if profitable is pd.NA or profitable is None:
        return t("economics.unknown")
    return t("economics.profitable") if bool(profitable) else t("economics.not_profitable")


def _write_summary(
    sheet: Any,
    plan: pd.DataFrame,
    t: Translator,
    labels: Mapping[str, str],
    formats: Mapping[str, Any],
) -> None:
    sheet.write_string(0, 0, t("xlsx.summary_title"), formats["title"])
    sheet.write_string(1, 0, t("economics.assumptions"), formats["note"])
    frame = pd.DataFrame(
        {
            "rank": np.arange(1, len(plan) + 1),
            "action": [t(f"recommendations.actions.{a}.name") for a in plan["action"]],
            "list_name": [name or "–" for name in plan["list_name"]],
            "segments": [t.join([labels.get(s, s) for s in segs]) for segs in plan["segments"]],
            "segment_customers": plan["segment_customers"],
            "customers": plan["customers"],
            "control": plan["control"] if "control" in plan else 0,
            "value_at_stake": plan["value_at_stake"],
            "channel": [t(f"economics.channels.{c}") for c in plan["channel"]],
            "cost_per_contact": plan["cost_per_contact"],
            "success_rate": plan["success_rate"],
            "uplift": plan["uplift"],
            "rate_source": [
                t(f"recommendations.rate_source.{source}")
                for source in (
                    plan["rate_source"] if "rate_source" in plan else ["assumed"] * len(plan)
                )
            ],
            "cost": plan["cost"],
            "value_kept": plan["value_kept"],
            "value_added": plan["value_added"],
            "net_return": plan["net_return"],
            "max_spend_per_customer": plan["max_spend_per_customer"],
            "advice": [_advice(p, t) for p in plan["profitable"]],
            "what": [t(f"recommendations.actions.{a}.what") for a in plan["action"]],
        }
    )
    headers = [t(f"xlsx.summary.{key}") for key, _ in _SUMMARY]
    kinds = [kind for _, kind in _SUMMARY]
    n = _write_table(sheet, frame, headers, kinds, formats, _HEADER_ROW)
    advised = plan[plan["profitable"].fillna(False).astype(bool)]
    total_row = _HEADER_ROW + 1 + n
    sheet.write_string(total_row, 1, t("xlsx.summary.total"), formats["total"])
    keys = [key for key, _ in _SUMMARY]
    sheet.write_number(
        total_row, keys.index("customers"), int(advised["customers"].sum()), formats["total"]
    )
    for key in ("value_at_stake", "cost", "value_kept", "value_added", "net_return"):
        sheet.write_number(
            total_row, keys.index(key), float(advised[key].sum()), formats["total_money"]
        )
    _finish_sheet(sheet, kinds, n, _HEADER_ROW)
    sheet.set_column(1, 1, 24)
    sheet.set_column(3, 3, 30)


def _csv_schema(table: Any) -> Any:
    """The schema of ``customers.csv``: floats as they are, labels as text, plain dates.

    Decided on the whole table (not per batch), so every batch gets the same types:
    a timestamp column holding only midnights is written as dates (as pandas
    writes them: ``2024-06-30``).
    """
    import pyarrow.compute as pc

    fields = []
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = kind.value_type
        if pa.types.is_timestamp(kind) and kind.tz is None:
            days = column.cast(pa.date32())
            if pc.all(pc.equal(days.cast(kind), column)).as_py() in (True, None):
                kind = pa.date32()
        fields.append(pa.field(field.name, kind))
    return pa.schema(fields)


FORMULA_START = r"^[=+\-@\t\r]"
"""A text cell starting like this is a formula to a spreadsheet (OWASP: CSV injection)."""


def _dictionary_columns(schema: Any) -> list[str]:
    """The columns of ``customers.parquet`` worth dictionary encoding: all but the floats.

    pyarrow tries a dictionary for every column by default and gives up per page
    when it grows too large; for measured amounts (nearly all distinct) that try
    costs half the writing time and saves nothing.
    """
    return [field.name for field in schema if not pa.types.is_floating(field.type)]


def _csv_batch(batch: Any, schema: Any) -> Any:
    """One batch as ``customers.csv`` shows it.

    Floats are rounded to :data:`CSV_DECIMALS`; a text cell that a spreadsheet
    would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or
    a carriage return, :data:`FORMULA_START`) gets a leading apostrophe, as
    OWASP advises, so opening the file never runs it. ``customers.parquet``
    keeps every value as it was, for systems that match on the ids.
    """
    import pyarrow.compute as pc

    columns = []
    for field, column in zip(schema, batch.columns, strict=True):
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_floating(field.type):
            column = pc.round(column, CSV_DECIMALS)
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            text = column.cast(field.type)
            formula = pc.fill_null(pc.match_substring_regex(text, FORMULA_START), False)
            quote = pa.scalar("'", type=field.type)
            joined = pc.binary_join_element_wise(quote, text, pa.scalar("", type=field.type))
            column = pc.if_else(formula, joined, text)
        columns.append(column.cast(field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def write_customer_table(
    customers: pd.DataFrame | CustomerRows, csv_path: Path, parquet_path: Path
) -> None:
    """Write ``customers`` to Parquet (typed, full precision) and CSV (floats to 4 decimals).

    Both go through Arrow, in batches of rows: Parquet with pyarrow, the CSV
    with DuckDB's ``COPY`` (comma-separated, a header, quotes only where
    needed, empty cells for missing values, dates as ``YYYY-MM-DD``), so a
    million customers take a second or two instead of pandas' half a minute,
    and memory holds one batch, not a sorted copy of every customer. Float
    columns are rounded to :data:`CSV_DECIMALS` decimals first, so the CSV
    reads back to the rounded values.

    Parameters
    ----------
    customers
        The rows in file order (:func:`customer_table`), or their
        :class:`CustomerRows`.
    csv_path, parquet_path
        Where to write.

    Examples
    --------
    >>> write_customer_table(customer_table(analysis), Path("customers.csv"),  # doctest: +SKIP
    ...                      Path("customers.parquet"))
    """
    import pyarrow.parquet as pq

    if isinstance(customers, pd.DataFrame):
        table = pa.Table.from_pandas(customers, preserve_index=False)
        customers = CustomerRows(table, np.arange(table.num_rows))
    schema = customers.schema
    with pq.ParquetWriter(
        parquet_path, schema, use_dictionary=_dictionary_columns(schema)
    ) as writer:
        # the next batches are sorted into file order while this one is encoded
        for batches in in_order(customers.rows_at, range(0, len(customers), BATCH_ROWS)):
            for batch in batches:
                writer.write_batch(batch)
        if not len(customers):
            writer.write_table(pa.Table.from_batches(customers.rows_at(0), schema))
    _write_csv(customers, Path(csv_path))


def _write_csv(customers: CustomerRows, csv_path: Path) -> None:
    """``customers.csv`` through DuckDB's ``COPY``, in parts formatted side by side.

    The rows are cut into :data:`~clvreport.models.threads.THREADS` runs of
    whole batches, in file order. Each run is formatted by a DuckDB connection
    of its own on one thread (on several threads one ``COPY`` keeps the rows in
    order by holding the batches ready before their turn: over 17 million
    customers 3 GB), the first into ``csv_path`` with the header, the others
    into part files beside it, which are then appended in order and removed.
    Each run's batches are sorted into file order, rounded and guarded against
    formulas (:func:`_csv_batch`) as its connection reads them, so the memory
    is a few batches per run.
    """
    from concurrent.futures import ThreadPoolExecutor

    import duckdb

    from clvreport.models import threads

    schema = _csv_schema(customers.table)
    starts = list(range(0, len(customers), BATCH_ROWS))
    n_runs = max(1, min(threads.THREADS, len(starts)))
    runs = [
        starts[len(starts) * k // n_runs : len(starts) * (k + 1) // n_runs] for k in range(n_runs)
    ]
    # Opened here first, so a folder we cannot write to raises Python's own OSError.
    csv_path.open("wb").close()
    parts = [csv_path]
    try:
        for _ in range(1, n_runs):  # new files of unique names (never an existing one)
            handle, name = tempfile.mkstemp(prefix=f".{csv_path.name}.", dir=csv_path.parent)
            os.close(handle)
            parts.append(Path(name))
    except OSError:
        for part in parts[1:]:
            part.unlink(missing_ok=True)
        raise

    def write(k: int) -> None:
        batches = (
            _csv_batch(batch, schema) for start in runs[k] for batch in customers.rows_at(start)
        )
        rows = pa.RecordBatchReader.from_batches(schema, batches)
        target = str(parts[k]).replace("'", "''")
        header = "HEADER" if k == 0 else "HEADER false"
        with duckdb.connect(":memory:") as con:
            con.execute("SET threads = 1")
            con.execute("SET preserve_insertion_order = true")
            con.register("customer_table", rows)
            try:
                con.execute(
                    f"COPY (SELECT * FROM customer_table) TO '{target}' "
                    f"(FORMAT csv, {header}, DELIMITER ',')"
                )
            except duckdb.IOException as exc:  # named as the file the analyst asked for
                raise _os_error(exc, csv_path) from exc

    try:
        with ThreadPoolExecutor(n_runs) as pool:
            list(pool.map(write, range(n_runs)))
        with csv_path.open("ab") as whole:
            for part in parts[1:]:
                with part.open("rb") as piece:
                    shutil.copyfileobj(piece, whole, 16 * 1024 * 1024)
    finally:
        for part in parts[1:]:
            part.unlink(missing_ok=True)


def _os_error(exc: Exception, path: Path | str) -> OSError:
    """DuckDB's I/O error as the OSError Python would raise (disk full → ENOSPC, ...)."""
    text = str(exc)
    for code in sorted(WRITE_ERRNOS):
        if os.strerror(code) in text:
            return OSError(code, os.strerror(code), str(path))
    return OSError(errno.EIO, text, str(path))


def write_outputs(
    analysis: Analysis,
    folder: Path | str,
    t: Translator,
    *,
    customers: pd.DataFrame | CustomerRows | None = None,
    key_figures: KeyFigures | None = None,
    newly_at_risk: Sequence[str] | None = None,
    per_customer: pd.DataFrame | None = None,
    plan: pd.DataFrame | None = None,
    rules: PlanRules | None = None,
    learned: Mapping[str, LearnedRate] | None = None,
    sensitivity: pd.DataFrame | None = None,
    columns: Mapping[str, pd.Series] | None = None,
) -> list[Path]:
    """Write ``customers.csv``, ``customers.parquet``, ``customers.xlsx`` and ``model.json``.

    ``customers.csv`` and ``customers.parquet`` hold every customer
    (:func:`customer_table`); ``customers.xlsx`` the action plan and one list
    per recommended action (:func:`write_action_lists`, at most
    ``xlsx_max_rows`` customers per sheet, with the client's
    ``data.columns.extra`` columns); ``model.json`` the fitted model and the
    report's key figures (``key_figures``, what the next report compares with).

    Parameters
    ----------
    analysis
        The analysis.
    folder
        Where to write.
    t
        Translator of the report language.
    customers
        :func:`customer_table` of ``analysis``, when already computed (default:
        written in batches from ``analysis`` without a sorted copy).
    key_figures
        The report's :class:`~clvreport.comparison.KeyFigures` (default: computed).
    newly_at_risk
        Customers at risk since the previous report, for their own list in the xlsx.
    per_customer
        Each customer's action under the client's rules
        (:func:`~clvreport.recommendations.customer_actions`), when already
        computed; with a ``group`` column (control groups) the lists mark their
        control customers and ``actions.parquet`` stores who was in which group.
    plan
        The report's plan (:func:`~clvreport.recommendations.action_plan`), so the
        files show the same plan as the report.
    rules
        The rules that priced ``per_customer`` (with learned rates).
    learned
        What was learned of each action's effect, stored as the next report's
        prior (``model.json`` → ``learned_rates``).
    sensitivity
        :func:`clvreport.sensitivity.sensitivity`, stored as ``model.json`` →
        ``sensitivity``.
    columns
        :func:`customer_columns` of ``analysis``, when already computed (the
        report computes them once, for the comparison and the files).

    Returns
    -------
    list of Path
        The files written (``actions.parquet`` too when there are lists).

    Examples
    --------
    >>> write_outputs(analysis, "out", translator("nl"))  # doctest: +SKIP
    """
    folder = Path(folder)
    config = analysis.config
    if key_figures is None:
        base = None if analysis.base_value is None else float(analysis.base_value["clv"])
        key_figures = compute_key_figures(
            analysis.customers,
            analysis.as_of,
            revenue_last_year=analysis.revenue_last_year,
            base_value=base,
        )
    csv_path = folder / "customers.csv"
    parquet_path = folder / "customers.parquet"
    groups = None
    if per_customer is not None and "group" in per_customer:
        groups = per_customer["group"]
    on_list = None
    if per_customer is not None and plan is not None:
        priced = "value_at_stake" in analysis.customers and "clv" in analysis.customers
        on_list = on_action_list(per_customer, plan, priced)
    rules = rules or PlanRules.from_config(config)  # once: the table and the workbook
    if customers is None:
        rows = CustomerRows.of(analysis, groups, on_list, rules, columns=columns, t=t)
    else:
        rows = customers
    write_customer_table(rows, csv_path, parquet_path)
    del rows
    release_free_memory()
    written_actions = []
    if groups is not None:
        actions_path = folder / "actions.parquet"
        write_action_groups(per_customer, analysis.as_of, actions_path)
        written_actions.append(actions_path)

    xlsx_path = folder / "customers.xlsx"
    plan = write_action_lists(
        xlsx_path,
        analysis.customers,
        t,
        rules=rules,
        labels=analysis.rules.labels(t.language),
        max_rows=config.xlsx_max_rows,
        extra=config.data.columns.extra or (),
        newly_at_risk=newly_at_risk,
        per_customer=per_customer,
        plan=plan,
        min_history_weeks=config.min_history_weeks,
        as_of=analysis.as_of,
        horizon_months=config.horizon_months,
        config=config,
    )

    model_path = folder / "model.json"
    model = audience(config.business).model_block(analysis.model, analysis.holdout_intervals)
    model["currency"] = config.currency
    model["horizon_months"] = config.horizon_months
    model["discount_rate"] = config.discount_rate
    model["gross_margin"] = config.gross_margin
    model["calibration_end"] = (
        analysis.calibration_end.isoformat() if analysis.calibration_end else None
    )
    model["as_of"] = analysis.as_of.isoformat()
    model["historic"] = analysis.figures.as_dict()
    model["revenue_season"] = revenue_season_json(analysis)
    model["key_figures"] = key_figures.to_dict()
    if model.get("validation") is not None:
        model["validation"].update(validation_entries(analysis.next_purchase_check))
    if analysis.base_value is not None:
        base = analysis.base_value
        model["base_value"] = {
            key: float(base[key]) for key in ("clv", "clv_low", "clv_high", "expected_purchases")
        }
    model["plan"] = plan_json(plan)
    model["control_groups"] = {
        "share": config.control_groups.share,
        "actions": dict(config.control_groups.actions),
        "min_size": config.control_groups.min_size,
        "list_date": analysis.as_of.isoformat(),
        "seed": "sha256(client|as_of|action)",
    }
    model["learned_rates"] = {action: rate.to_dict() for action, rate in (learned or {}).items()}
    if sensitivity is not None:
        from clvreport.sensitivity import sensitivity_json

        model["sensitivity"] = sensitivity_json(sensitivity)
    model_path.write_text(json.dumps(model, indent=2, default=str), encoding="utf-8")
    return [csv_path, parquet_path, xlsx_path, model_path, *written_actions]


def revenue_season_json(analysis: Analysis) -> dict[str, Any] | None:
    """The client's season and how the holdout's months compare (``None`` when not measured).

    Examples
    --------
    >>> revenue_season_json(analysis)["holdout"]["kind"]  # doctest: +SKIP
    'busy'
    """
    profile = getattr(analysis, "season", None)
    if profile is None:
        return None
    out = profile.as_dict()
    if getattr(analysis, "calibration_end", None) is not None:
        start = analysis.calibration_end + dt.timedelta(days=1)
        out["holdout"] = season_check(profile, start, analysis.as_of).as_dict()
    return out


def plan_json(plan: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The plan per action for ``model.json`` (what the next report measures against).

    Examples
    --------
    >>> plan_json(plan)["win_back_personal"]["rate_source"]  # doctest: +SKIP
    'assumed'
    """
    out: dict[str, dict[str, Any]] = {}
    keys = [
        "customers",
        "control",
        "segment_customers",
        "cost",
        "value_kept",
        "value_added",
        "value_kept_horizon",
        "net_return",
        "success_rate",
        "uplift",
        "channel",
        "rate_source",
        "list_name",
        "break_even_success_rate",
        "break_even_margin",
    ]
    for row in plan.to_dict(orient="records"):
        item = {}
        for key in keys:
            value = row.get(key)
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and not np.isfinite(value):
                value = None
            item[key] = None if value is pd.NA else value
        profitable = row.get("profitable")
        item["profitable"] = None if profitable is pd.NA else bool(profitable)
        item["segments"] = list(row.get("segments") or ())
        out[str(row["action"])] = item
    return out


def write_action_groups(per_customer: pd.DataFrame, list_date: Any, path: Path) -> None:
    """Write ``actions.parquet``: every listed customer with action, group, list date and value.

    The next report reads it to measure each action against its control group
    (:func:`clvreport.comparison.measure_previous_actions`).
    """
    # the listed customers first: text of every customer took 15 s at 17 million
    listed = per_customer["group"].notna().to_numpy()
    chosen = per_customer.loc[listed, ["customer_id", "action", "group", "value_kept"]]
    # text columns stay pandas' (Arrow) strings: a Python string per customer took GBs
    frame = pd.DataFrame(
        {
            "customer_id": chosen["customer_id"].astype(str).array,
            "action": chosen["action"].astype(str).array,
            "group": chosen["group"].astype(str).array,
            "list_date": pd.Timestamp(list_date),
            "expected": chosen["value_kept"].to_numpy(dtype=float),
        },
        columns=ACTION_COLUMNS,
    )
    frame.to_parquet(path, index=False)
