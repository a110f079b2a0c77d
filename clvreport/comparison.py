"""Compare a report with an earlier one: key figures, segment migration, the old forecast checked.

Every report folder (``<out>/<client>/<as-of>[-<lang>]/``) keeps what a later
comparison needs: ``customers.parquet`` (each customer's segment, history in
the model's form and predictions) and ``model.json`` (the fitted model and the
report's key figures). A comparison reads those files and never refits the
old model.

Definitions
-----------
Key figures (:class:`KeyFigures`)
    Customers, active customers (a purchase in the twelve months before the
    report date), revenue of those twelve months, predicted value of the base
    (sum of the customers' CLV over the horizon), customers at risk and their
    value at stake (:mod:`clvreport.customer_groups`), and the top 20%'s share of the
    predicted value (without a model: of revenue).
Migration
    For every customer of the earlier report, the segment then and now;
    ``migration.csv`` counts them per (from, to) pair with their predicted
    value now (``value``) and then (``value_before``). Customers missing from
    the new data are counted under ``to_segment`` ``"missing"``; new customers
    are not part of the migration (they are counted in ``new_customers``).
Forecast check
    For the earlier report's customers, the purchases and revenue its model
    expected between the two report dates (:func:`~clvreport.models.period.
    period_forecast`, from the stored model and histories, with its 90%
    interval) against what they actually did: the purchases (purchase days
    after the first, as the models count them) and net revenue between the
    dates, i.e. the growth of each customer's ``frequency`` and ``revenue``.
    Customers whose history *before* the earlier date changed (the export was
    corrected) are counted in ``changed_history``.
Newly at risk
    Customers at risk now who were not at risk (or not yet customers) at the
    earlier report.
What worked (``actions_measured``)
    When the earlier report stored its action lists with control groups
    (``actions.parquet``), each action's treated customers are compared with
    its control group over the days between the reports: purchases, revenue
    (in margin) and who bought at all, the uplift per customer with its 90%
    interval (:func:`clvreport.experiments.measure_actions`), against what the
    earlier plan promised for those days. A contacts export, when the client
    has one, says who was reached.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clvreport.audiences import Audience, Fit, audience
from clvreport.customer_groups import at_risk, at_risk_mask, top_group, valued_customers
from clvreport.dates import parse_date
from clvreport.definitions import active_mask
from clvreport.errors import ConfigError
from clvreport.experiments import ACTION_COLUMNS, measure_actions

__all__ = [
    "COMPARISON_FILE",
    "MIGRATION_COLUMNS",
    "MIGRATION_FILE",
    "Comparison",
    "KeyFigures",
    "StoredReport",
    "Unavailable",
    "compare_reports",
    "find_previous",
    "key_figures",
    "list_reports",
    "load_report",
    "measure_previous_actions",
    "report_history",
    "write_comparison",
]

COMPARISON_FILE = "comparison.json"
MIGRATION_FILE = "migration.csv"
MIGRATION_COLUMNS = ["from_segment", "to_segment", "customers", "value", "value_before"]
"""Columns of ``migration.csv`` (``value``: predicted value now; ``value_before``: then)."""
MISSING = "missing"
"""``to_segment`` of customers of the earlier report who are not in the new data."""
REQUIRED_FILES = ("customers.parquet", "model.json")
ACTIONS_FILE = "actions.parquet"
"""The action lists with their control groups, stored with every report."""
MONTH_DAYS = 365.25 / 12
_FOLDER = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:-([a-z]{2}))?$")


@dataclass(frozen=True)
class KeyFigures:
    """The headline figures of one report.

    Attributes
    ----------
    as_of
        Report date.
    customers, active_customers
        All customers, and the active ones (:func:`clvreport.definitions.active_mask`:
        a purchase in the last twelve months; for subscriptions the running ones).
    revenue_last_year
        Net revenue of the twelve months up to the report date (``None`` when
        the stored report did not record it).
    base_value
        Predicted value of all customers over the horizon (``None`` without a model).
    at_risk_customers, value_at_stake
        Customers at risk and their value at stake (``None`` without a model).
    top_share
        The top 20%'s share of the predicted value (without a model: of revenue).
    """

    as_of: dt.date
    customers: int
    active_customers: int
    revenue_last_year: float | None
    base_value: float | None
    at_risk_customers: int
    value_at_stake: float | None
    top_share: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (dates as ISO strings)."""
        out = dataclasses.asdict(self)
        out["as_of"] = self.as_of.isoformat()
        return {k: _json_number(v) for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyFigures:
        """Rebuild from :meth:`to_dict`."""
        values = {f.name: data.get(f.name) for f in dataclasses.fields(cls)}
        values["as_of"] = dt.date.fromisoformat(str(values["as_of"]))
        return cls(**values)


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def key_figures(
    customers: pd.DataFrame,
    as_of: dt.date,
    *,
    revenue_last_year: float | None = None,
    base_value: float | None = None,
) -> KeyFigures:
    """The key figures of a per-customer table (``customers.parquet`` columns).

    Parameters
    ----------
    customers
        One row per customer with ``segment``, ``n_purchases``, ``revenue``,
        ``last_purchase`` and, with a model, ``clv``, ``p_alive``,
        ``value_at_stake``.
    as_of
        The report date.
    revenue_last_year
        Net revenue of the last twelve months, when known.
    base_value
        Predicted value of the base; default the sum of ``clv``.

    Returns
    -------
    KeyFigures

    Examples
    --------
    >>> table = pd.DataFrame({"segment": ["a", "b"], "n_purchases": [3, 1],
    ...                       "revenue": [90.0, 10.0],
    ...                       "last_purchase": pd.to_datetime(["2024-11-01", "2022-01-05"])})
    >>> k = key_figures(table, dt.date(2024, 12, 31))
    >>> k.customers, k.active_customers, k.top_share
    (2, 1, 0.9)
    """
    model = "clv" in customers and customers["clv"].notna().any()
    risk = at_risk(customers)
    top = top_group(
        valued_customers(customers) if model else customers, value="clv" if model else "revenue"
    )
    if base_value is None and model:
        base_value = float(customers["clv"].sum())
    return KeyFigures(
        as_of=as_of,
        customers=len(customers),
        # subscriptions: the running ones (a monthly payment is no sign of loyalty there)
        active_customers=int(active_mask(customers, as_of).sum()),
        revenue_last_year=None if revenue_last_year is None else float(revenue_last_year),
        base_value=base_value if model else None,
        at_risk_customers=risk.n_customers,
        value_at_stake=risk.value_at_stake if model else None,
        top_share=top.future_share,
    )


@dataclass
class StoredReport:
    """What an earlier report left for a comparison.

    Attributes
    ----------
    folder
        The report folder.
    as_of
        Its report date.
    customers
        ``customers.parquet``.
    model
        ``model.json``.
    """

    folder: Path
    as_of: dt.date
    customers: pd.DataFrame
    model: dict[str, Any]

    @property
    def figures(self) -> KeyFigures:
        """The key figures it recorded (computed from its customers when it recorded none)."""
        stored = self.model.get("key_figures")
        if stored:
            return KeyFigures.from_dict(stored)
        return key_figures(self.customers, self.as_of)

    @property
    def actions(self) -> pd.DataFrame | None:
        """Its action lists with control groups (``actions.parquet``), or ``None``.

        A file that lacks the columns, holds a group other than treated and
        control, or lists a customer twice is not used (``None``).
        """
        path = self.folder / ACTIONS_FILE
        if not path.is_file():
            return None
        try:
            table = pd.read_parquet(path)
        except (OSError, ValueError):
            return None
        if not set(ACTION_COLUMNS[:3]) <= set(table.columns):
            return None
        table = table.assign(
            customer_id=table["customer_id"].astype(str), action=table["action"].astype(str)
        )
        if not table["group"].isin(["treated", "control"]).all():
            return None
        if table["customer_id"].duplicated().any():
            return None
        return table

    @property
    def plan(self) -> dict[str, Any]:
        """Its plan per action as stored in ``model.json`` (``{}`` when it stored none)."""
        plan = self.model.get("plan")
        return plan if isinstance(plan, dict) else {}

    @property
    def audience(self) -> Audience:
        """The audience of its ``business`` (a shop's when it stored none)."""
        return audience(self.model.get("business"))

    @property
    def fit(self) -> Fit | None:
        """Its model, ready to forecast (``None`` when it had none)."""
        if self.model.get("transaction_model") is None or self.model.get("status") == "failed":
            return None
        return self.audience.fit_from_dict(self.model)


@dataclass(frozen=True)
class Unavailable:
    """An earlier report exists but cannot be compared with.

    Attributes
    ----------
    folder
        The earlier report's folder.
    as_of
        Its date.
    missing
        The files it lacks (``customers.parquet``, ``model.json``), or the
        reason it could not be read.
    """

    folder: Path
    as_of: dt.date
    missing: tuple[str, ...]


def list_reports(client_out: Path | str) -> list[tuple[dt.date, Path]]:
    """The published report folders of a client, one per date (oldest first).

    A date with reports in several languages gives the folder without a
    language suffix (the client's default language) when there is one.

    Parameters
    ----------
    client_out
        ``<out>/<client>/``.

    Returns
    -------
    list of (date, Path)

    Examples
    --------
    >>> list_reports("output/demo")  # doctest: +SKIP
    [(datetime.date(2024, 6, 30), PosixPath('output/demo/2024-06-30'))]
    """
    folder = Path(client_out)
    found: dict[dt.date, Path] = {}
    try:
        entries = sorted(folder.iterdir(), key=lambda p: (len(p.name), p.name))
    except OSError:
        return []
    for entry in entries:
        match = _FOLDER.match(entry.name)
        if not match or not entry.is_dir():
            continue
        try:
            day = dt.date.fromisoformat(match.group(1))
        except ValueError:
            continue
        found.setdefault(day, entry)
    return sorted(found.items())


def load_report(folder: Path | str, as_of: dt.date | None = None) -> StoredReport | Unavailable:
    """Read an earlier report's ``customers.parquet`` and ``model.json``.

    Parameters
    ----------
    folder
        The report folder.
    as_of
        Its date (default: from the folder name or ``model.json``).

    Returns
    -------
    StoredReport or Unavailable
        :class:`Unavailable` names the missing or unreadable files.

    Examples
    --------
    >>> report = load_report("output/demo/2024-06-30")  # doctest: +SKIP
    >>> report.as_of  # doctest: +SKIP
    datetime.date(2024, 6, 30)
    """
    folder = Path(folder)
    if as_of is None:
        match = _FOLDER.match(folder.name)
        as_of = dt.date.fromisoformat(match.group(1)) if match else dt.date.min
    missing = tuple(name for name in REQUIRED_FILES if not (folder / name).is_file())
    if missing:
        return Unavailable(folder, as_of, missing)
    try:
        model = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        customers = pd.read_parquet(folder / "customers.parquet")
    except (OSError, ValueError) as exc:
        return Unavailable(folder, as_of, (f"{type(exc).__name__}: {exc}",))
    needed = {"customer_id", "segment", "n_purchases", "revenue", "last_purchase"}
    lacking = sorted(needed - set(customers.columns))
    if lacking or not isinstance(model, dict):
        return Unavailable(folder, as_of, tuple(f"customers.parquet: {c}" for c in lacking))
    customers["customer_id"] = customers["customer_id"].astype(str)
    customers["segment"] = customers["segment"].astype(str)
    return StoredReport(folder, as_of, _current_names(customers), model)


RENAMED_COLUMNS = {"value_at_risk": "value_at_stake"}
"""Columns of ``customers.parquet`` under their earlier names: old name → current name."""


def _current_names(customers: pd.DataFrame) -> pd.DataFrame:
    """An earlier report's customers with renamed columns under their current names.

    Examples
    --------
    >>> old = pd.DataFrame({"customer_id": ["a"], "value_at_risk": [5.0]})
    >>> list(_current_names(old).columns)
    ['customer_id', 'value_at_stake']
    """
    renamed = {
        old: new
        for old, new in RENAMED_COLUMNS.items()
        if old in customers.columns and new not in customers.columns
    }
    return customers.rename(columns=renamed) if renamed else customers


def find_previous(
    client_out: Path | str, as_of: dt.date, compare_to: dt.date | str | None = "auto"
) -> StoredReport | Unavailable | None:
    """The earlier report to compare with, if any.

    Parameters
    ----------
    client_out
        ``<out>/<client>/`` (the folder of the client's reports).
    as_of
        The new report's date; only earlier reports count.
    compare_to
        ``"auto"``: the latest earlier report; a date: that report (it must
        exist); ``None`` or ``"none"``: no comparison.

    Returns
    -------
    StoredReport, Unavailable or None
        ``None`` when there is no earlier report (or comparison is off).

    Raises
    ------
    ConfigError
        When ``compare_to`` names a date without a report, or one not before ``as_of``.

    Examples
    --------
    >>> find_previous("output/demo", dt.date(2024, 12, 31))  # doctest: +SKIP
    """
    if compare_to is None or compare_to == "none":
        return None
    reports = [(day, path) for day, path in list_reports(client_out) if day < as_of]
    if compare_to == "auto":
        if not reports:
            return None
        day, path = reports[-1]
        return load_report(path, day)
    wanted = parse_date(compare_to, "--compare-to")
    if wanted >= as_of:
        raise ConfigError(
            f"--compare-to {wanted.isoformat()} is not before the report date {as_of.isoformat()}",
            hint="compare with an earlier report",
        )
    for day, path in reports:
        if day == wanted:
            return load_report(path, day)
    available = ", ".join(day.isoformat() for day, _ in reports) or "none"
    raise ConfigError(
        f"no report of {wanted.isoformat()} in {client_out}",
        hint=f"earlier reports there: {available}; or leave out --compare-to",
    )


@dataclass
class Comparison:
    """A report compared with an earlier one (see the module docstring).

    Attributes
    ----------
    previous_as_of, as_of
        The two report dates.
    then, now
        Key figures of both.
    migration
        :data:`MIGRATION_COLUMNS`, one row per (from, to) pair with customers.
    forecast
        Per segment of the earlier report (and a ``"total"`` row, last):
        ``segment, customers, predicted_purchases, purchases_low,
        purchases_high, actual_purchases, predicted_revenue, revenue_low,
        revenue_high, actual_revenue``; ``None`` when the earlier report had
        no model.
    new_customers
        Customers now who were not in the earlier report, and their revenue so far.
    missing_customers
        Customers of the earlier report not in the new data.
    changed_history
        Customers whose purchases before the earlier date differ between the two.
    newly_at_risk
        Ids of customers at risk now who were not at risk then.
    existing_value_then, existing_value_now, new_customer_value
        The predicted value of the earlier report's customers then and now, and
        of the new customers now (``None`` without models): the change of the
        base's value split into what its old customers did and what the new
        ones add.
    model_then, model_now
        The models of the two reports (a change of model moves the figures too).
    actions_measured
        Per action of the earlier report with a control group: the
        measurement (:func:`clvreport.experiments.measure_actions` columns)
        with ``promised`` (the value kept per treated customer the earlier plan
        assumed for these days); ``None`` when it stored no lists.
    contacts_used
        Whether a contacts export said who was reached.
    forecast_seasonal
        Whether the earlier report's forecast followed the client's seasonal
        index (then the season explains no part of its miss).
    days
        Days between the two dates.
    """

    previous_as_of: dt.date
    as_of: dt.date
    then: KeyFigures
    now: KeyFigures
    migration: pd.DataFrame
    forecast: pd.DataFrame | None
    new_customers: int
    new_customer_revenue: float
    missing_customers: int
    changed_history: int
    newly_at_risk: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))
    existing_value_then: float | None = None
    existing_value_now: float | None = None
    new_customer_value: float | None = None
    model_then: str | None = None
    model_now: str | None = None
    actions_measured: pd.DataFrame | None = None
    contacts_used: bool = False
    forecast_seasonal: bool = False

    @property
    def days(self) -> int:
        """Days between the two report dates."""
        return (self.as_of - self.previous_as_of).days

    @property
    def total(self) -> pd.Series | None:
        """The forecast check of all the earlier report's customers (``None`` without a model)."""
        if self.forecast is None:
            return None
        return self.forecast.iloc[-1]

    def to_dict(self) -> dict[str, Any]:
        """The content of ``comparison.json``.

        Returns
        -------
        dict
            ``previous_as_of, as_of, days, predicted_purchases, purchases_low,
            purchases_high, actual_purchases, predicted_revenue, revenue_low,
            revenue_high, actual_revenue`` (``None`` without an earlier model),
            ``segments`` (the same per segment of the earlier report),
            ``key_figures`` (``then``, ``now``), ``new_customers``,
            ``new_customer_revenue``, ``missing_customers``,
            ``changed_history``, ``newly_at_risk`` (count).
        """
        keys = [
            "predicted_purchases",
            "purchases_low",
            "purchases_high",
            "actual_purchases",
            "predicted_revenue",
            "revenue_low",
            "revenue_high",
            "actual_revenue",
        ]
        total = self.total
        segments: dict[str, Any] = {}
        if self.forecast is not None:
            for row in self.forecast.iloc[:-1].itertuples(index=False):
                item = row._asdict()
                name = str(item.pop("segment"))
                segments[name] = {k: _json_number(_plain(v)) for k, v in item.items()}
        return {
            "previous_as_of": self.previous_as_of.isoformat(),
            "as_of": self.as_of.isoformat(),
            "days": self.days,
            **{k: None if total is None else _json_number(_plain(total[k])) for k in keys},
            "customers": None if total is None else int(total["customers"]),
            "segments": segments,
            "key_figures": {"then": self.then.to_dict(), "now": self.now.to_dict()},
            "new_customers": self.new_customers,
            "new_customer_revenue": _json_number(self.new_customer_revenue),
            "missing_customers": self.missing_customers,
            "changed_history": self.changed_history,
            "newly_at_risk": len(self.newly_at_risk),
            "existing_value_then": _json_number(self.existing_value_then),
            "existing_value_now": _json_number(self.existing_value_now),
            "new_customer_value": _json_number(self.new_customer_value),
            "model_then": self.model_then,
            "model_now": self.model_now,
            "actions_measured": _measured_json(self.actions_measured),
            "contacts_used": self.contacts_used,
        }


def _measured_json(table: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    """``actions_measured`` of ``comparison.json``: one object per earlier action."""
    if table is None:
        return None
    return [
        {key: _json_number(_plain(value)) for key, value in row.items()}
        for row in table.to_dict(orient="records")
    ]


def _since(old: pd.DataFrame, current: pd.DataFrame, purchases: str) -> pd.DataFrame:
    """Per customer of the earlier report: purchases and net revenue between the two reports."""
    matched = current.set_index("customer_id").reindex(old["customer_id"])
    before_p = old[purchases].to_numpy(dtype=float) if purchases in old else np.zeros(len(old))
    now_p = matched[purchases].to_numpy(dtype=float) if purchases in matched else before_p
    before_r = old["revenue"].to_numpy(dtype=float)
    now_r = matched["revenue"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "customer_id": old["customer_id"].to_numpy(),
            "purchases": np.clip(np.nan_to_num(now_p - before_p), 0, None),
            "revenue": np.nan_to_num(now_r - before_r),
        }
    )


def _promised(plan: Mapping[str, Any], days: int, horizon_months: float) -> dict[str, float]:
    """The value kept per treated customer each earlier action promised, for ``days``.

    The plan's value over its horizon, pro rata over the days measured (a
    straight line: the horizon's discounting and timing are left out).
    """
    share = min(days / (horizon_months * MONTH_DAYS), 1.0) if horizon_months else 1.0
    out = {}
    for action, row in plan.items():
        try:
            customers = float(row["customers"])
            # what the plan expected within its horizon (a lifetime's value kept is
            # mostly later); older reports stored only value_kept
            horizon = row.get("value_kept_horizon")
            kept = float(horizon if horizon is not None else row["value_kept"])
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if customers > 0 and math.isfinite(kept):
            out[str(action)] = kept / customers * share
    return out


def measure_previous_actions(
    previous: StoredReport,
    current: pd.DataFrame,
    as_of: dt.date,
    *,
    margin: float = 1.0,
    contacts: pd.DataFrame | None = None,
    min_control: int = 30,
) -> pd.DataFrame | None:
    """What the earlier report's actions did, treated against control (``None`` without lists).

    Parameters
    ----------
    previous
        The earlier report; its ``actions.parquet`` holds the lists.
    current
        The new report's per-customer table.
    as_of
        The new report's date.
    margin
        Share of revenue that is margin.
    contacts
        Who was contacted since (:func:`clvreport.experiments.read_contacts`).
    min_control
        Fewest control customers for a measurement.

    Returns
    -------
    pandas.DataFrame or None
        :func:`clvreport.experiments.measure_actions` with ``promised``: what
        the earlier plan assumed per treated customer for these days.

    Examples
    --------
    >>> previous = load_report("output/demo/2024-06-30")  # doctest: +SKIP
    >>> current = pd.read_parquet("output/demo/2024-12-31/customers.parquet")  # doctest: +SKIP
    >>> measure_previous_actions(previous, current, dt.date(2024, 12, 31))  # doctest: +SKIP
    """
    actions = previous.actions
    if actions is None:
        return None
    current = current.assign(customer_id=current["customer_id"].astype(str))
    purchases = "frequency" if "frequency" in previous.customers else "n_purchases"
    outcome = _since(previous.customers, current, purchases)
    measured = measure_actions(
        actions, outcome, margin=margin, contacts=contacts, min_control=min_control
    )
    promised = _promised(
        previous.plan,
        (as_of - previous.as_of).days,
        float(previous.model.get("horizon_months") or 12),
    )
    measured["promised"] = [promised.get(a, math.nan) for a in measured["action"]]
    return measured


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _forecast_check(
    previous: StoredReport, current: pd.DataFrame, days: int
) -> pd.DataFrame | None:
    """Predicted (from the stored model) against actual purchases and revenue, per old segment."""
    fit = previous.fit
    if fit is None:
        return None
    forecast = previous.audience.period_forecast(fit, previous.customers, days, previous.as_of)
    if forecast is None:
        return None
    segments, total, scored, purchases = forecast
    return _with_actuals(segments, total, scored, current, purchases=purchases)


def _with_actuals(
    segments: pd.DataFrame,
    total: pd.DataFrame,
    scored: pd.DataFrame,
    current: pd.DataFrame,
    *,
    purchases: str,
) -> pd.DataFrame:
    """The forecast per segment and in total, beside what the customers did since.

    ``purchases`` is the cumulative count whose growth is the actual: the
    models' repeat purchases (``frequency``), or payments (``n_purchases``)
    for subscriptions.
    """
    matched = current.set_index("customer_id").reindex(scored["customer_id"])
    then_purchases = scored[purchases].to_numpy(dtype=float)
    then_revenue = scored["revenue"].to_numpy(dtype=float)
    # a customer missing from the new data did nothing that can be counted
    now_purchases = matched[purchases].to_numpy(dtype=float)
    now_revenue = matched["revenue"].to_numpy(dtype=float)
    actual_purchases = np.clip(
        np.where(np.isnan(now_purchases), then_purchases, now_purchases) - then_purchases, 0, None
    )
    actual_revenue = np.where(np.isnan(now_revenue), then_revenue, now_revenue) - then_revenue
    labels = scored["segment"].to_numpy()
    actual = pd.DataFrame(
        {"group": labels, "actual_purchases": actual_purchases, "actual_revenue": actual_revenue}
    )
    sums = actual.groupby("group", sort=False).sum().reindex(segments["group"])
    table = pd.concat([segments, total], ignore_index=True)
    for column in ("actual_purchases", "actual_revenue"):
        table[column] = [*sums[column].to_numpy(), float(actual[column].sum())]
    table = table.rename(
        columns={
            "group": "segment",
            "expected_purchases": "predicted_purchases",
            "expected_revenue": "predicted_revenue",
        }
    )
    columns = [
        "segment",
        "customers",
        "predicted_purchases",
        "purchases_low",
        "purchases_high",
        "actual_purchases",
        "predicted_revenue",
        "revenue_low",
        "revenue_high",
        "actual_revenue",
    ]
    return table[columns]


def _migration(old: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame:
    value_now = now.set_index("customer_id")
    to_segment = value_now["segment"].reindex(old["customer_id"]).fillna(MISSING).to_numpy()
    has_value = "clv" in now and "clv" in old
    moves = pd.DataFrame(
        {
            "from_segment": old["segment"].to_numpy(),
            "to_segment": to_segment,
            "customers": 1,
            "value": (
                value_now["clv"].reindex(old["customer_id"]).fillna(0.0).to_numpy()
                if has_value
                else np.nan
            ),
            "value_before": old["clv"].fillna(0.0).to_numpy() if has_value else np.nan,
        }
    )
    table = moves.groupby(["from_segment", "to_segment"], sort=True, as_index=False).agg(
        customers=("customers", "sum"),
        value=("value", "sum" if has_value else "first"),
        value_before=("value_before", "sum" if has_value else "first"),
    )
    return table.sort_values(["value_before", "customers"], ascending=False, ignore_index=True)[
        MIGRATION_COLUMNS
    ]


def _changed_history(old: pd.DataFrame, now: pd.DataFrame, previous_as_of: dt.date) -> int:
    """Customers whose first purchase or purchase count up to the earlier date differ."""
    current = now.set_index("customer_id").reindex(old["customer_id"])
    present = current["first_purchase"].notna().to_numpy()
    first_then = pd.to_datetime(old["first_purchase"]).to_numpy()
    first_now = pd.to_datetime(current["first_purchase"]).to_numpy()
    moved = present & (first_then != first_now)
    if "frequency" in old and "frequency" in current:
        fewer = present & (
            current["frequency"].fillna(0).to_numpy() < old["frequency"].fillna(0).to_numpy()
        )
        moved |= fewer
    return int(moved.sum())


def compare_reports(
    previous: StoredReport,
    current: pd.DataFrame,
    as_of: dt.date,
    *,
    now: KeyFigures | None = None,
    model_now: str | None = None,
    margin: float = 1.0,
    contacts: pd.DataFrame | None = None,
    min_control: int = 30,
) -> Comparison:
    """Compare the current per-customer table with an earlier report.

    Parameters
    ----------
    previous
        The earlier report (:func:`load_report`).
    current
        The new report's per-customer table (``customers.parquet`` columns,
        :func:`clvreport.outputs.customer_table`).
    as_of
        The new report's date.
    now
        The new report's key figures (default: computed from ``current``,
        without last year's revenue).
    model_now
        The new report's model (e.g. ``"pnbd"``), to say when it changed.
    margin, contacts, min_control
        For measuring the earlier report's actions
        (:func:`measure_previous_actions`).

    Returns
    -------
    Comparison

    Examples
    --------
    >>> previous = load_report("output/demo/2024-06-30")  # doctest: +SKIP
    >>> current = pd.read_parquet("output/demo/2024-12-31/customers.parquet")  # doctest: +SKIP
    >>> compare_reports(previous, current, dt.date(2024, 12, 31)).total  # doctest: +SKIP
    """
    if as_of <= previous.as_of:
        raise ConfigError(
            f"the earlier report ({previous.as_of}) is not before this one ({as_of})",
            hint="compare with an earlier report",
        )
    current = current.copy()
    current["customer_id"] = current["customer_id"].astype(str)
    current["segment"] = current["segment"].astype(str)
    old = previous.customers
    known = set(old["customer_id"])
    new = ~current["customer_id"].isin(known)
    risk_now = at_risk_mask(current)
    risk_then = pd.Series(at_risk_mask(old).to_numpy(), index=old["customer_id"])
    was_at_risk = current["customer_id"].map(risk_then).fillna(False).astype(bool)
    newly = current.loc[risk_now & ~was_at_risk, "customer_id"]
    migration = _migration(old, current)
    valued = "clv" in current and "clv" in old
    return Comparison(
        previous_as_of=previous.as_of,
        as_of=as_of,
        then=previous.figures,
        now=now or key_figures(current, as_of),
        migration=migration,
        forecast=_forecast_check(previous, current, (as_of - previous.as_of).days),
        new_customers=int(new.sum()),
        new_customer_revenue=float(current.loc[new, "revenue"].sum()),
        missing_customers=int((~old["customer_id"].isin(set(current["customer_id"]))).sum()),
        changed_history=_changed_history(old, current, previous.as_of),
        newly_at_risk=pd.Index(newly.to_numpy()),
        existing_value_then=float(migration["value_before"].sum()) if valued else None,
        existing_value_now=float(migration["value"].sum()) if valued else None,
        new_customer_value=float(current.loc[new, "clv"].sum()) if valued else None,
        model_then=previous.model.get("model"),
        model_now=model_now,
        actions_measured=measure_previous_actions(
            previous, current, as_of, margin=margin, contacts=contacts, min_control=min_control
        ),
        contacts_used=contacts is not None,
        forecast_seasonal=_forecast_seasonal(previous),
    )


def _forecast_seasonal(previous: StoredReport) -> bool:
    """Whether the earlier report's forecast followed a seasonal index."""
    try:
        fit = previous.fit
    except (KeyError, TypeError, ValueError):
        return False
    return bool(getattr(fit, "seasonal", False))


def write_comparison(comparison: Comparison, folder: Path | str) -> list[Path]:
    """Write ``migration.csv`` and ``comparison.json`` into ``folder``.

    Examples
    --------
    >>> write_comparison(comparison, "output/demo/2024-12-31")  # doctest: +SKIP
    """
    folder = Path(folder)
    migration = folder / MIGRATION_FILE
    comparison.migration.to_csv(migration, index=False, float_format="%.2f")
    summary = folder / COMPARISON_FILE
    summary.write_text(json.dumps(comparison.to_dict(), indent=2), encoding="utf-8")
    return [migration, summary]


def _stored_figures(folder: Path) -> KeyFigures | None:
    """The key figures in a report's ``model.json`` (without reading its customers)."""
    try:
        stored = json.loads((folder / "model.json").read_text(encoding="utf-8")).get("key_figures")
        return KeyFigures.from_dict(stored) if stored else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def report_history(
    reports: Sequence[tuple[dt.date, Path]], current: KeyFigures | None = None
) -> pd.DataFrame:
    """Key figures of every earlier report (and the current one), oldest first.

    Reports that cannot be read are left out.

    Examples
    --------
    >>> report_history(list_reports("output/demo"))  # doctest: +SKIP
    """
    rows = []
    for day, folder in reports:
        figures = _stored_figures(folder)
        if figures is None:  # an older report: from its customers, when it has them
            loaded = load_report(folder, day)
            figures = loaded.figures if isinstance(loaded, StoredReport) else None
        if figures is not None:
            rows.append(figures.to_dict())
    if current is not None:
        rows.append(current.to_dict())
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["as_of"] = pd.to_datetime(frame["as_of"])
        frame = frame.drop_duplicates("as_of", keep="last").sort_values("as_of", ignore_index=True)
    return frame
