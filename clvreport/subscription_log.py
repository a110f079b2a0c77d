"""A client's subscription log, read through the common ingest; its payments derived in DuckDB.

The contract export is read like any transaction export
(:func:`clvreport.ingest.load_transactions`): the same sheets
(``data.excel.sheet``), encodings, delimiters, decimal marks, date formats,
path checks and ``data.policies`` apply to the client's own rows, and the
data-quality counts speak of the client's file. The mapping is the client's
``data.columns`` with the contract's start date as the date and its price per
period as the amount (:func:`contract_mapping`); the end date and the plan
ride along as pass-through columns.

From those rows :func:`load_subscriptions` builds one row per subscription
(:func:`~clvreport.models.contract.subscription_summary`, with plan and price)
and, in the same engine, the payments the transaction sections of the report
read: one per paid period (:func:`create_payments`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clvreport.config import ClientConfig, ColumnMapping
from clvreport.engine import DuckDBEngine, Engine, quote_identifier
from clvreport.errors import DataError
from clvreport.ingest import DataQuality, Transactions, load_transactions
from clvreport.ingest.detect import ISO_FORMAT
from clvreport.ingest.typed import EXTRA_PREFIX
from clvreport.models.contract import subscription_summary
from clvreport.models.units import MONTHS_PER_PERIOD

__all__ = [
    "ALL_PLANS",
    "PAYMENT_COLUMNS",
    "contract_mapping",
    "create_payments",
    "load_subscriptions",
    "read_contracts",
]

ALL_PLANS = "all"
"""The plan of every subscription when the log has no plan column."""

PAYMENT_COLUMNS = ("customer_id", "order_date", "amount", "is_return", "channel")
"""Columns of the payment table: one row per paid period, the plan as the channel."""

_ISO_TEXT = r"^\s*\d{4}-\d{2}-\d{2}"
_NOT_FOR_CONTRACTS = {"as_of_after_data"}  # the report date may lie after the last start
_NO_REPEAT = "no_repeat_customers"  # a subscriber pays again by renewing, not by a new row


def contract_mapping(config: ClientConfig) -> ColumnMapping:
    """The column mapping that reads a subscription log through the common ingest.

    Parameters
    ----------
    config
        A ``business: subscription`` configuration.

    Returns
    -------
    ColumnMapping
        ``data.columns`` with ``date`` the contract start (``subscription.start``)
        and ``amount`` the price per period (``subscription.price``, else
        ``data.columns.amount``); the end date and the plan are added to
        ``extra`` (after the client's own extra columns) unless mapped already.

    Raises
    ------
    DataError
        When ``subscription.start`` or ``subscription.end`` is not set.

    Examples
    --------
    >>> config = ClientConfig.model_validate({
    ...     "name": "x", "business": "subscription",
    ...     "subscription": {"start": "van", "end": "tot", "plan": "pakket"},
    ...     "data": {"sources": "log.csv",
    ...              "columns": {"customer_id": "klant", "date": "van", "amount": "prijs"}}})
    >>> mapping = contract_mapping(config)
    >>> mapping.date, mapping.amount, mapping.extra
    ('van', 'prijs', ('tot', 'pakket'))
    """
    options, columns = config.subscription, config.data.columns
    if options.start is None or options.end is None:
        raise DataError(
            "a subscription log needs the start and end date columns",
            hint="name them in client.yml: subscription.start and subscription.end",
        )
    update: dict[str, Any] = {"date": options.start}
    if options.price is not None:
        update["amount"] = options.price
    mapped = {
        value.strip().casefold()
        for name, value in columns.model_copy(update=update)
        if name != "extra" and isinstance(value, str)
    }
    own = tuple(columns.extra or ())
    riders = [
        name
        for name in (options.end, options.plan)
        if name is not None and name.strip().casefold() not in mapped
    ]
    update["extra"] = tuple(dict.fromkeys([*own, *riders])) or None
    return columns.model_copy(update=update)


def _column_of(mapping: ColumnMapping, name: str) -> str:
    """The clean table's column holding the export's column ``name``."""
    key = name.strip().casefold()
    for position, extra in enumerate(mapping.extra or ()):
        if extra.strip().casefold() == key:
            return f"{EXTRA_PREFIX}{position}"
    for field, value in mapping:
        if field != "extra" and isinstance(value, str) and value.strip().casefold() == key:
            return {"date": "order_date"}.get(field, field)
    raise KeyError(name)  # pragma: no cover - contract_mapping maps every contract column


def _date_format(config: ClientConfig, quality: DataQuality) -> str | None:
    """The format the start dates were read with: the end dates are written alike."""
    given = config.data.csv.date_format
    if given not in (None, "auto"):
        return given
    used = {info.date_format for info in quality.files} - {None, ISO_FORMAT}
    return used.pop() if len(used) == 1 else None


def _end_values(text: pd.Series) -> pd.Series:
    """End dates as found: ISO texts (Excel date cells) as timestamps, others as written."""
    values = text.astype(object).where(text.notna(), "")
    iso = values.astype(str).str.match(_ISO_TEXT)
    parsed = pd.to_datetime(values[iso], format="ISO8601", errors="coerce")
    values[iso & parsed.reindex(values.index).notna()] = parsed.dropna()
    return values


def _contracts(
    config: ClientConfig, rows: Transactions, mapping: ColumnMapping, as_of: Any
) -> pd.DataFrame:
    """One row per subscription from the ingested contract rows (plan and price added)."""
    options = config.subscription
    assert options.start is not None and options.end is not None  # contract_mapping checked
    end = _column_of(mapping, options.end)
    plan = _column_of(mapping, options.plan) if options.plan else None
    plan_sql = f"CAST({quote_identifier(plan)} AS VARCHAR)" if plan else f"'{ALL_PLANS}'"
    # the client's column names, so that a message names the column of the export
    names = {"customer_id": config.data.columns.customer_id, "start": options.start}
    names["end"] = options.end
    q = {key: quote_identifier(name) for key, name in names.items()}
    log = rows.query(
        f"SELECT customer_id AS {q['customer_id']}, order_date AS {q['start']}, "
        f"{quote_identifier(end)} AS {q['end']}, {plan_sql} AS _plan, amount AS _price "
        f"FROM {rows.table} ORDER BY 1, 2, 3 NULLS LAST, 4, 5"
    )
    log[names["end"]] = _end_values(log[names["end"]])
    log.index = pd.Index(log[names["customer_id"]].astype(str), name=None)
    log.attrs["row_label"] = "customer"
    source = rows.quality.files[0].path if rows.quality.files else None
    summary = subscription_summary(
        log,
        customer_col=names["customer_id"],
        start_col=names["start"],
        end_col=names["end"],
        period=options.period,
        as_of=as_of,
        date_format=_date_format(config, rows.quality),
        source=source,
    )
    # each subscription's plan and price: those of its latest contract row
    log = pd.DataFrame(
        {
            "customer_id": log[names["customer_id"]].astype(str).to_numpy(),
            "start": pd.to_datetime(log[names["start"]]).to_numpy(dtype="datetime64[ns]"),
            "plan": log["_plan"].to_numpy(),
            "price": log["_price"].to_numpy(dtype=float),
        }
    )
    spells = summary[["customer_id", "spell", "start"]].astype({"start": "datetime64[ns]"})
    spells = spells.sort_values("start")
    owner = pd.merge_asof(
        log.sort_values("start"), spells, on="start", by="customer_id", direction="backward"
    )
    latest = owner.groupby(["customer_id", "spell"], sort=False).tail(1)
    latest = latest.set_index(["customer_id", "spell"])
    keys = pd.MultiIndex.from_arrays([summary["customer_id"], summary["spell"]])
    summary["plan"] = latest["plan"].reindex(keys).astype(str).to_numpy()
    summary["price"] = latest["price"].reindex(keys).to_numpy(dtype=float)
    return summary


def _attributes(rows: Transactions, own: tuple[str, ...]) -> pd.DataFrame:
    """The client's own ``columns.extra`` per customer (their latest contract's), as ``extra_i``."""
    found = rows.customer_attributes()
    frame = found[["customer_id", *own]].copy()
    frame.columns = ["customer_id", *(f"{EXTRA_PREFIX}{i}" for i in range(len(own)))]
    return frame


def _contract_quality(quality: DataQuality, contracts: pd.DataFrame) -> DataQuality:
    """The ingest's counts of the client's rows, in the words of subscriptions."""
    renewed = contracts.groupby("customer_id")["renewals"].max().gt(0)
    returned = contracts.groupby("customer_id").size().gt(1)
    return dataclasses.replace(
        quality,
        customers=int(contracts["customer_id"].nunique()),
        repeat_customers=int((renewed | returned).sum()),
        warnings=tuple(w for w in quality.warnings if w != _NO_REPEAT),
        flagged=tuple((c, n) for c, n in quality.flagged if c not in _NOT_FOR_CONTRACTS),
    )


def create_payments(
    engine: Engine,
    contracts: pd.DataFrame,
    period: str,
    attributes: pd.DataFrame | None = None,
) -> str:
    """Create the payment table: one row per paid period of every subscription.

    A subscription pays at its start and at each renewal (``renewals + 1``
    payments), on the start date plus whole periods (month ends clipped: a
    contract from 31 January pays on 29 February).

    Parameters
    ----------
    engine
        The engine to hold the table.
    contracts
        One row per subscription: ``customer_id``, ``start``, ``renewals``,
        ``price`` and ``plan``.
    period
        The renewal period (``"month"``, ``"quarter"``, ``"year"``).
    attributes
        Optional per-customer pass-through columns (``customer_id`` and
        ``extra_0``, ``extra_1``, ...: the client's ``columns.extra``), copied
        onto every payment of the customer.

    Returns
    -------
    str
        The new table's name; its columns are :data:`PAYMENT_COLUMNS` and
        those of ``attributes``.

    Examples
    --------
    >>> engine = DuckDBEngine()
    >>> contracts = pd.DataFrame({"customer_id": ["a"], "start": pd.to_datetime(["2024-01-31"]),
    ...                           "renewals": [2], "price": [10.0], "plan": ["box"]})
    >>> table = create_payments(engine, contracts, "month")
    >>> engine.query(f"SELECT strftime(order_date, '%Y-%m-%d') AS d FROM {table} "
    ...              "ORDER BY d")["d"].tolist()
    ['2024-01-31', '2024-02-29', '2024-03-31']
    """
    frame = pd.DataFrame(
        {
            "customer_id": contracts["customer_id"].astype(str).to_numpy(),
            "start": pd.to_datetime(contracts["start"]).dt.date.to_numpy(),
            "renewals": contracts["renewals"].to_numpy(dtype=np.int64),
            "price": contracts["price"].to_numpy(dtype=float),
            "plan": contracts["plan"].astype(str).to_numpy(),
        }
    )
    source = engine.unique_name("clv_contracts")
    table = engine.unique_name("clv_payments")
    engine.register(source, frame)
    months = MONTHS_PER_PERIOD[period]
    extra = [
        c for c in (attributes.columns if attributes is not None else ()) if c != "customer_id"
    ]
    joined, join = "", ""
    if extra:
        named = engine.unique_name("clv_attributes")
        engine.register(named, attributes)  # type: ignore[arg-type]
        joined = "".join(f", a.{quote_identifier(c)}" for c in extra)
        join = f" LEFT JOIN {named} AS a USING (customer_id)"
    try:
        engine.create_table(
            table,
            "SELECT customer_id, CAST(CAST(start AS DATE) + to_months(CAST(k * "
            f"{months} AS INTEGER)) AS DATE) AS order_date, price AS amount, "
            f"FALSE AS is_return, plan AS channel{joined} "
            f"FROM (SELECT *, unnest(range(renewals + 1)) AS k FROM {source}){join}",
        )
    finally:
        engine.drop(source)
        if extra:
            engine.drop(named)
    return table


def load_subscriptions(
    config: ClientConfig, client_dir: Path | str, as_of: dt.date | str | None = None
) -> tuple[pd.DataFrame, Transactions]:
    """Read the subscription log and derive its payments, both in one DuckDB engine.

    Parameters
    ----------
    config
        The client's configuration (``business: subscription``).
    client_dir
        The client folder (``data.sources`` are relative to it).
    as_of
        The report date (``None``: ``config.as_of``, else the log's latest
        start or end date). Contracts starting after it are excluded and
        counted (``after_as_of``), as rows after the report date are.

    Returns
    -------
    tuple of (pandas.DataFrame, Transactions)
        One row per subscription
        (:func:`~clvreport.models.contract.subscription_summary` columns plus
        ``plan``, ``"all"`` without a plan column, and ``price`` per period;
        ``attrs`` as there, plus ``quality``), and the payments as
        :class:`~clvreport.ingest.Transactions` (``as_of`` the report date),
        whose ``quality`` counts the client's rows and names the client's files.
        Close the payments when done (they own the engine).

    Raises
    ------
    DataError
        As for any transaction export (file, sheet, column, date, amount),
        and for a contract that cannot be one (no end column, an end before
        its start; naming the customer).

    Examples
    --------
    >>> contracts, payments = load_subscriptions(config, "data/abonnement")  # doctest: +SKIP
    """
    report_date = as_of if as_of is not None else config.as_of
    mapping = contract_mapping(config)
    data = config.data.model_copy(update={"columns": mapping})
    engine = DuckDBEngine(memory_limit=config.duckdb.memory_limit)
    try:
        rows = load_transactions(
            config.model_copy(update={"data": data, "engine": "duckdb"}),
            client_dir,
            as_of=report_date,
            engine=engine,
        )
        own = tuple(config.data.columns.extra or ())
        with rows:  # drops the contract rows: the payments replace them
            contracts = _contracts(config, rows, mapping, report_date)
            quality = _contract_quality(rows.quality, contracts)
            attributes = _attributes(rows, own) if own else None
        contracts.attrs["quality"] = quality
        table = create_payments(engine, contracts, config.subscription.period, attributes)
        span = engine.query(f"SELECT min(order_date) AS a, max(order_date) AS b FROM {table}")
    except BaseException:
        engine.close()
        raise
    payments = Transactions(
        engine=engine,
        table=table,
        columns=PAYMENT_COLUMNS + tuple(f"{EXTRA_PREFIX}{i}" for i in range(len(own))),
        first_date=pd.Timestamp(span["a"].iloc[0]).date(),
        last_date=pd.Timestamp(span["b"].iloc[0]).date(),
        as_of=dt.date.fromisoformat(contracts.attrs["as_of"]),
        quality=quality,
        owns_engine=True,
        extra=own,
    )
    return contracts, payments


def read_contracts(
    config: ClientConfig, client_dir: Path | str, as_of: dt.date | str | None = None
) -> pd.DataFrame:
    """The client's subscription log, one row per subscription, with plan and price.

    :func:`load_subscriptions` without the payments: what ``validate`` and
    the tests read. ``attrs["quality"]`` holds the data-quality counts of the
    client's rows.

    Examples
    --------
    >>> read_contracts(config, "data/abonnement")  # doctest: +SKIP
    """
    contracts, payments = load_subscriptions(config, client_dir, as_of)
    payments.close()
    return contracts
