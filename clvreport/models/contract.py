"""From a subscription log to the renewal data of the sBG model.

A subscription log has one row per contract: a customer id, the start date and
the end date (empty while the contract runs), optionally the renewal period
(year, quarter or month). Contracts renew on the anniversaries of the start:
``start + k`` periods for ``k = 1, 2, ...``.

* A contract that ended on or before ``as_of`` made the renewals that fall
  strictly before its end date: ending on a renewal date, or the day before
  it, counts as not renewing; ending in mid-period counts as not renewing at
  the next renewal date (the sBG model has churn only at renewals).
* A contract without end date, or ending after ``as_of``, is active at
  ``as_of`` and right-censored; its renewals are the renewal dates up to and
  including ``as_of``.
* Rows of one customer that follow on (the next starts at most one day after
  the previous ends, or overlaps it) are one subscription; a customer who
  returns after a gap counts as a new subscriber from the restart (a second
  ``spell``).

Each subscription's cohort is the period it started in: ``"2019"``,
``"2019-Q1"`` or ``"2019-03"``.

Examples
--------
>>> log = pd.DataFrame({
...     "customer": ["a", "b", "c"],
...     "start": ["2019-01-01", "2019-01-01", "2019-07-01"],
...     "end": ["2019-12-31", "", "2021-03-15"],
... })
>>> summary = subscription_summary(
...     log, customer_col="customer", start_col="start", end_col="end", as_of="2022-01-01")
>>> summary[["customer_id", "cohort", "renewals", "active"]].values.tolist()
[['a', '2019', 0, False], ['b', '2019', 3, True], ['c', '2019', 1, False]]
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from clvreport.config import CsvOptions
from clvreport.dates import parse_date
from clvreport.engine import DuckDBEngine
from clvreport.errors import DataError
from clvreport.ingest.reader import open_raw
from clvreport.ingest.sources import SourceFile, file_format
from clvreport.models.sbg import ShiftedBetaGeometricModel

__all__ = [
    "PERIOD_MONTHS",
    "Period",
    "cohort_survival",
    "fit_subscription_log",
    "read_subscription_log",
    "subscription_summary",
]

Period = Literal["year", "quarter", "month"]
PERIOD_MONTHS: dict[str, int] = {"year": 12, "quarter": 3, "month": 1}
_UNITS = {"year": "years", "quarter": "quarters", "month": "months"}
_ALIASES = {
    **{k: "year" for k in ("year", "years", "yearly", "annual", "annually", "y", "12")},
    **{k: "quarter" for k in ("quarter", "quarters", "quarterly", "q", "3")},
    **{k: "month" for k in ("month", "months", "monthly", "m", "1")},
}
_COMMON_FORMATS = ("%d-%m-%Y", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d", "%Y/%m/%d")
_ONE_DAY = np.timedelta64(1, "D")


def _where(frame: pd.DataFrame, label: Any) -> str:
    return f"{frame.attrs.get('row_label', 'row')} {label}"


def _source(frame: pd.DataFrame, source: Path | str | None) -> Path | str | None:
    return source if source is not None else frame.attrs.get("source")


def _period_name(value: Any, what: str) -> str:
    name = _ALIASES.get(str(value).strip().lower())
    if name is None:
        raise DataError(
            f"unknown renewal period {value!r} ({what})",
            hint="use year, quarter or month (annual, quarterly and monthly are understood too)",
        )
    return name


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------


def read_subscription_log(
    path: Path | str,
    *,
    sheet: str | int | None = None,
    delimiter: str = "auto",
    encoding: str = "auto",
) -> pd.DataFrame:
    r"""Read a subscription log (CSV, TXT, Parquet or XLSX) into a DataFrame of raw values.

    The format comes from the extension (``.csv.gz`` too), the CSV encoding
    and delimiter are detected as for transaction files
    (:mod:`clvreport.ingest`). CSV and Excel cells are kept as text (dates are
    parsed by :func:`subscription_summary`, which names the bad row).

    Parameters
    ----------
    path
        The file.
    sheet
        Excel sheet name or position (default: the first).
    delimiter
        CSV field separator, or ``"auto"``.
    encoding
        CSV text encoding, or ``"auto"``.

    Returns
    -------
    pandas.DataFrame
        The rows, indexed by their line in the file (the header is line 1) for
        CSV and Excel, by row number from 1 for Parquet; ``attrs["source"]``
        holds the path and ``attrs["row_label"]`` ``"line"`` or ``"row"``.

    Raises
    ------
    clvreport.errors.DataError
        For a missing, empty or unreadable file.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "log.csv").write_text("id;start;end\n1;2020-01-01;\n")
    >>> read_subscription_log(folder / "log.csv").to_dict("index")
    {2: {'id': '1', 'start': '2020-01-01', 'end': ''}}
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            "the subscription log does not exist" if not path.exists() else "not a file",
            path=path,
            hint="check the path",
        )
    fmt, compression = file_format(path)
    source = SourceFile(path, fmt, compression)
    options = CsvOptions.model_validate({"delimiter": delimiter, "encoding": encoding})
    if path.stat().st_size == 0:
        frame = pd.DataFrame()
    else:
        with DuckDBEngine() as engine:
            raw = open_raw(source, options, engine, 0, list, sheet)
            frame = engine.query(f"SELECT * FROM {raw.sql}")
    frame = frame.apply(_as_text)
    frame.columns = [str(c).strip() for c in frame.columns]
    first_line = 1 if fmt == "parquet" else 2
    frame.index = pd.RangeIndex(first_line, first_line + len(frame))
    frame.attrs["source"] = str(path)
    frame.attrs["row_label"] = "row" if fmt == "parquet" else "line"
    return frame


def _as_text(values: pd.Series) -> pd.Series:
    """Cells as text (whole numbers without ``.0``, blanks ``""``); dates stay dates."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    if pd.api.types.is_float_dtype(values):
        return values.map(lambda v: "" if v != v else str(int(v)) if v.is_integer() else str(v))
    return values.astype(object).where(values.notna(), "")


# ---------------------------------------------------------------------------
# dates
# ---------------------------------------------------------------------------


def _blank(values: pd.Series) -> np.ndarray:
    text = values.astype(str).str.strip()
    return (values.isna() | text.eq("") | text.str.lower().isin(["nan", "nat", "none"])).to_numpy()


def _parse_text(values: pd.Series, date_format: str | None) -> pd.Series:
    if date_format is not None:
        return pd.to_datetime(values, format=date_format, errors="coerce")
    return pd.to_datetime(values, format="ISO8601", errors="coerce")


def _choose_format(texts: pd.Series) -> str | None:
    """``None`` for ISO dates, else the one common format that reads every value."""
    if texts.empty or _parse_text(texts, None).notna().all():
        return None
    fitting = [f for f in _COMMON_FORMATS if _parse_text(texts, f).notna().all()]
    if len(fitting) == 1:
        return fitting[0]
    if len(fitting) > 1:
        raise DataError(
            f"the dates can be read as {' or as '.join(fitting)} (e.g. {texts.iloc[0]!r})",
            hint="pass date_format, e.g. date_format='%d/%m/%Y' for day/month/year",
        )
    return None  # nothing reads them all: the first bad value is reported


def _dates(
    frame: pd.DataFrame,
    columns: Sequence[str],
    date_format: str | None,
    source: Path | str | None,
) -> dict[str, pd.Series]:
    """Parse date columns to day precision (``NaT`` for blanks)."""
    raw = {c: frame[c] for c in columns}
    is_date = {
        c: v.map(lambda x: isinstance(x, (dt.date, np.datetime64))).to_numpy()
        for c, v in raw.items()
    }
    blank = {c: _blank(v) & ~is_date[c] for c, v in raw.items()}
    texts = pd.concat([v[~blank[c] & ~is_date[c]].astype(str).str.strip() for c, v in raw.items()])
    fmt = date_format if date_format is not None else _choose_format(texts)
    out = {}
    for column, values in raw.items():
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
        if is_date[column].any():
            parsed[is_date[column]] = pd.to_datetime(values[is_date[column]].tolist())
        text = ~blank[column] & ~is_date[column]
        if text.any():
            parsed[text] = _parse_text(values[text].astype(str).str.strip(), fmt)
        bad = text & parsed.isna().to_numpy()
        if bad.any():
            label = values.index[int(np.argmax(bad))]
            raise DataError(
                f"{_where(frame, label)}: cannot read {values[label]!r} in column "
                f"{column!r} as a date",
                path=source,
                hint="write dates as YYYY-MM-DD, or pass date_format (e.g. '%d-%m-%Y')",
            )
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        out[column] = parsed.dt.normalize()
    return out


def _timestamp(value: Any, what: str) -> pd.Timestamp:
    return pd.Timestamp(parse_date(value, what, error=DataError))


def _whole_months(start: pd.DatetimeIndex, end: pd.DatetimeIndex) -> np.ndarray:
    """Largest ``j`` with ``start + j months <= end`` (month ends clipped, as pandas does)."""
    k = (end.year - start.year).to_numpy() * 12 + (end.month - start.month).to_numpy()
    anchor = np.minimum(start.day.to_numpy(), end.days_in_month.to_numpy())
    return k - (end.day.to_numpy() < anchor)


# ---------------------------------------------------------------------------
# the summary
# ---------------------------------------------------------------------------


def _check_columns(frame: pd.DataFrame, wanted: dict[str, str], source: Any) -> None:
    present = [str(c) for c in frame.columns]
    for role, column in wanted.items():
        if column in frame.columns:
            continue
        close = difflib.get_close_matches(column, present, n=1, cutoff=0.5)
        listing = ", ".join(present[:12]) + (", ..." if len(present) > 12 else "")
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise DataError(
            f"the subscription log has no column {column!r} (the {role})",
            path=source,
            hint=f"{hint}columns found: {listing or '(none)'}",
        )


def _resolve_period(
    frame: pd.DataFrame, period: str | None, period_col: str | None, source: Any
) -> str:
    if period_col is None:
        return _period_name(period or "year", "period")
    values = frame[period_col]
    given = values[~_blank(values)]
    mapped = given.astype(str).str.strip().str.lower().map(_ALIASES)
    unknown = mapped.isna().to_numpy()
    if unknown.any():
        label = given.index[int(np.argmax(unknown))]
        raise DataError(
            f"{_where(frame, label)}: unknown renewal period {given[label]!r} in column "
            f"{period_col!r}",
            path=source,
            hint="use year, quarter or month (annual, quarterly and monthly are understood)",
        )
    first = ~mapped.duplicated().to_numpy()
    names: dict[str, Any] = dict(zip(mapped[first], mapped.index[first], strict=True))
    if len(names) > 1:
        found = ", ".join(f"{n} (first at {_where(frame, lab)})" for n, lab in names.items())
        raise DataError(
            f"the log mixes renewal periods: {found}",
            path=source,
            hint="the sBG model needs one renewal period: fit each plan's rows separately",
        )
    from_column = next(iter(names), None)
    if period is not None and from_column is not None:
        wanted = _period_name(period, "period")
        if wanted != from_column:
            raise DataError(
                f"period={period!r} but column {period_col!r} says {from_column}",
                path=source,
                hint="leave period out to use the column's",
            )
    return from_column or _period_name(period or "year", "period")


def _cohort_labels(start: pd.DatetimeIndex, period: str) -> np.ndarray:
    years = start.year.astype(str)
    if period == "year":
        return np.asarray(years, dtype=object)
    if period == "quarter":
        return np.asarray(years + "-Q" + start.quarter.astype(str), dtype=object)
    return np.asarray(years + "-" + start.month.map("{:02d}".format), dtype=object)


def subscription_summary(
    frame: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    start_col: str = "start",
    end_col: str = "end",
    period: str | None = None,
    period_col: str | None = None,
    as_of: Any = None,
    date_format: str | None = None,
    source: Path | str | None = None,
) -> pd.DataFrame:
    """One row per subscription: cohort, renewals observed and whether still active.

    Parameters
    ----------
    frame
        The subscription log, one row per contract (e.g. from :func:`read_subscription_log`).
    customer_col, start_col, end_col
        Columns of the customer id, start date and end date (empty while active).
    period
        Renewal period: ``"year"`` (default), ``"quarter"`` or ``"month"``
        (plurals and ``annual``/``quarterly``/``monthly`` are understood).
    period_col
        Optional column with each contract's renewal period; all rows must
        name the same one.
    as_of
        The date the log was taken (default: its latest start or end date).
    date_format
        ``strftime`` format of the dates (default: ISO dates, or the one
        common format that reads every date, e.g. ``%d-%m-%Y``).
    source
        File name for error messages (default: ``frame.attrs["source"]``).

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id``, ``spell`` (1, or 2, 3, ... for returns after
        a gap), ``cohort``, ``start``, ``end`` (``NaT`` while active),
        ``renewals`` (completed periods after the first) and ``active``.
        ``attrs`` holds ``period``, ``time_unit`` (the model's ``"years"``,
        ...), ``as_of`` (ISO date) and ``source``.

    Raises
    ------
    clvreport.errors.DataError
        For an empty log, a missing column (named, with the file), a missing
        customer id or start date, an unreadable date (row and column), an end
        before its start or a start after ``as_of`` (naming the row).

    Examples
    --------
    >>> log = pd.DataFrame({"id": [1, 1, 2], "from": ["2020-01-01", "2021-01-01", "2020-03-15"],
    ...                     "to": ["2021-01-01", "", "2020-09-30"]})
    >>> summary = subscription_summary(log, customer_col="id", start_col="from", end_col="to",
    ...                                period="quarter", as_of="2021-06-30")
    >>> summary[["customer_id", "cohort", "renewals", "active"]].values.tolist()
    [['1', '2020-Q1', 5, True], ['2', '2020-Q1', 2, False]]
    """
    source = _source(frame, source)
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"expected a DataFrame, got {type(frame).__name__}", path=source)
    wanted = {"customer id column": customer_col, "start date column": start_col}
    wanted["end date column"] = end_col
    if period_col is not None:
        wanted["renewal period column"] = period_col
    if len(frame) == 0:
        raise DataError(
            "the subscription log has no rows",
            path=source,
            hint="export the contracts with a header line and one row per contract",
        )
    _check_columns(frame, wanted, source)
    name = _resolve_period(frame, period, period_col, source)
    months = PERIOD_MONTHS[name]

    ids = frame[customer_col]
    missing_id = _blank(ids)
    if missing_id.any():
        label = frame.index[int(np.argmax(missing_id))]
        raise DataError(
            f"{_where(frame, label)}: the customer id (column {customer_col!r}) is empty",
            path=source,
            hint="every contract needs a customer id",
        )
    dates = _dates(frame, [start_col, end_col], date_format, source)
    start, end = dates[start_col], dates[end_col]
    if start.isna().any():
        label = frame.index[int(np.argmax(start.isna().to_numpy()))]
        raise DataError(
            f"{_where(frame, label)}: the start date (column {start_col!r}) is empty",
            path=source,
            hint="every contract needs a start date",
        )
    backwards = (end < start).to_numpy()
    if backwards.any():
        label = frame.index[int(np.argmax(backwards))]
        raise DataError(
            f"{_where(frame, label)}: the contract ends ({end[label]:%Y-%m-%d}) before it "
            f"starts ({start[label]:%Y-%m-%d})",
            path=source,
            hint=f"check columns {start_col!r} and {end_col!r} (swapped, or a typo in the year?)",
        )
    if as_of is None:
        as_of_date = max(start.max(), end.max()) if end.notna().any() else start.max()
    else:
        as_of_date = _timestamp(as_of, "as_of")
    late = (start > as_of_date).to_numpy()
    if late.any():
        label = frame.index[int(np.argmax(late))]
        raise DataError(
            f"{_where(frame, label)}: the contract starts ({start[label]:%Y-%m-%d}) after "
            f"as_of ({as_of_date:%Y-%m-%d})",
            path=source,
            hint="set as_of to the date the log was taken, or leave out contracts not yet begun",
        )

    table = pd.DataFrame(
        {
            "customer_id": ids.astype(str).str.strip().to_numpy(),
            "start": start.to_numpy(),
            "end": end.to_numpy(),
        }
    )
    table = table.sort_values(["customer_id", "start"], kind="stable").reset_index(drop=True)
    # rows of a customer that follow on form one subscription (a spell): a row starting at
    # most a day after the latest end so far of that customer's earlier rows (open: never)
    never = np.iinfo(np.int64).max
    ends = table["end"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    ends = np.where(table["end"].isna().to_numpy(), never, ends)
    reach = pd.Series(ends).groupby(table["customer_id"].to_numpy()).cummax().to_numpy()
    customer = table["customer_id"].to_numpy()
    same = np.r_[False, customer[1:] == customer[:-1]]
    previous = np.r_[never, reach[:-1]]
    day = int(_ONE_DAY.astype("timedelta64[ns]").view(np.int64))
    limit = np.where(previous >= never - day, never, previous + day)
    starts = table["start"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    follows = same & (starts <= limit)
    table["spell"] = (~follows).astype(int)
    table["spell"] = table.groupby("customer_id")["spell"].cumsum()
    grouped = table.groupby(["customer_id", "spell"], sort=True)
    spells = grouped.agg(start=("start", "min"), end=("end", "max")).reset_index()
    open_spell = (
        table["end"].isna().groupby([table["customer_id"], table["spell"]], sort=True).any()
    ).to_numpy()
    spells.loc[open_spell, "end"] = pd.NaT

    begin = pd.DatetimeIndex(spells["start"])
    finish = pd.DatetimeIndex(spells["end"])
    active = np.asarray(finish.isna() | (finish > as_of_date))
    observed_to = pd.DatetimeIndex(np.where(active, as_of_date, finish - pd.Timedelta(days=1)))
    elapsed = _whole_months(begin, observed_to)
    renewals = np.maximum(elapsed // months, 0)
    summary = pd.DataFrame(
        {
            "customer_id": spells["customer_id"].to_numpy(),
            "spell": spells["spell"].to_numpy().astype(int),
            "cohort": _cohort_labels(begin, name),
            "start": begin,
            "end": finish,
            "renewals": renewals.astype(int),
            "active": active,
        }
    )
    summary.attrs.update(
        period=name,
        time_unit=_UNITS[name],
        as_of=as_of_date.date().isoformat(),
        source=None if source is None else str(source),
    )
    return summary


def cohort_survival(summary: pd.DataFrame) -> pd.DataFrame:
    """Per cohort and period: customers active at the start, churned and censored.

    Parameters
    ----------
    summary
        From :func:`subscription_summary` (columns ``cohort``, ``renewals``, ``active``).

    Returns
    -------
    pandas.DataFrame
        Columns ``cohort``, ``period`` (0 = the first period), ``active_at_start``
        (known to be active at the start of the period: renewals >= period),
        ``churned`` (active at its start and did not renew at its end) and
        ``censored`` (active at its start, the renewal at its end not yet
        due by ``as_of``). ``active_at_start`` of the next period is
        ``active_at_start - churned - censored``. With staggered starts the
        later periods of a cohort are observed for its earliest customers only;
        :meth:`ShiftedBetaGeometricModel.fit` takes that into account.

    Examples
    --------
    >>> summary = pd.DataFrame({"cohort": ["2019"] * 4, "renewals": [0, 0, 1, 2],
    ...                         "active": [False, True, False, True]})
    >>> cohort_survival(summary).values.tolist()
    [['2019', 0, 4, 1, 1], ['2019', 1, 2, 1, 0], ['2019', 2, 1, 0, 1]]
    """
    missing = [c for c in ("cohort", "renewals", "active") if c not in summary.columns]
    if missing:
        raise DataError(
            f"the summary lacks column(s) {', '.join(missing)}",
            hint="build it with subscription_summary",
        )
    rows = []
    for cohort, group in summary.groupby("cohort", sort=True):
        renewals = group["renewals"].to_numpy(dtype=np.int64)
        active = group["active"].to_numpy(dtype=bool)
        size = int(renewals.max()) + 1
        churned = np.bincount(renewals[~active], minlength=size)
        censored = np.bincount(renewals[active], minlength=size)
        leaving = churned + censored
        at_start = leaving[::-1].cumsum()[::-1]
        for p in range(size):
            rows.append((cohort, p, int(at_start[p]), int(churned[p]), int(censored[p])))
    return pd.DataFrame(
        rows, columns=["cohort", "period", "active_at_start", "churned", "censored"]
    ).astype({"period": int, "active_at_start": int, "churned": int, "censored": int})


def fit_subscription_log(
    source: Path | str | pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    start_col: str = "start",
    end_col: str = "end",
    period: str | None = None,
    period_col: str | None = None,
    as_of: Any = None,
    date_format: str | None = None,
    n_starts: int = 3,
) -> tuple[ShiftedBetaGeometricModel, pd.DataFrame]:
    """Read a subscription log and fit one sBG model to all its subscriptions.

    Every subscription enters with its own observation length (staggered
    starts are right-censored at ``as_of``); use
    :func:`clvreport.models.sbg.fit_cohorts` on the summary for one fit per cohort.

    Parameters
    ----------
    source
        A file (CSV, TXT, Parquet, XLSX; see :func:`read_subscription_log`) or a DataFrame.
    customer_col, start_col, end_col, period, period_col, as_of, date_format
        See :func:`subscription_summary`; ``period`` also accepts the model's
        time units (``"years"``, ``"quarters"``, ``"months"``).
    n_starts
        Starting points for the optimiser.

    Returns
    -------
    tuple of (ShiftedBetaGeometricModel, pandas.DataFrame)
        The fitted model (``time_unit`` the renewal period) and the summary.

    Raises
    ------
    clvreport.errors.DataError
        For problems in the log (see :func:`subscription_summary`).
    clvreport.errors.ModelError
        When nobody churned or nobody renewed.

    Examples
    --------
    >>> log = pd.DataFrame({"id": range(6), "start": ["2018-01-01"] * 6,
    ...                     "end": ["2018-12-31", "2019-06-30", "", "2020-12-31", "", ""]})
    >>> model, summary = fit_subscription_log(log, customer_col="id", as_of="2021-06-30")
    >>> model.time_unit, summary["renewals"].tolist()
    ('years', [0, 1, 3, 2, 3, 3])
    """
    if isinstance(source, pd.DataFrame):
        frame = source
    else:
        frame = read_subscription_log(source)
    summary = subscription_summary(
        frame,
        customer_col=customer_col,
        start_col=start_col,
        end_col=end_col,
        period=period,
        period_col=period_col,
        as_of=as_of,
        date_format=date_format,
    )
    model = ShiftedBetaGeometricModel(time_unit=summary.attrs["time_unit"], n_starts=n_starts)
    return model.fit(summary), summary
