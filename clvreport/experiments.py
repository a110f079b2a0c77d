"""The plan, measured: control groups in the lists, the uplift at the next report, rates learned.

Every advised action's list holds back a random *control group* that is not
contacted. At the next report the customers of the two groups are compared
over the same days, so what the action did is measured instead of assumed,
and the plan of the new report prices the action with what was learned.

Control groups (:func:`assign_control_groups`)
    Per action, a share of its listed customers (default 10%) is drawn at
    random, stratified by value: the customers are sorted by their expected
    value kept and cut into strata of ``1 / share`` consecutive customers, and
    one customer of each stratum (at random) goes to the control group. So the
    two groups have the same spread of value (and, because the lists are per
    segment, the same segment mix) up to one customer per stratum. The draw is
    seeded by the client, the report date and the action: the same report
    gives the same groups. A customer is on at most one list, so in at most one
    group. Below :data:`MIN_CONTROL` control customers the next report cannot
    tell an effect from chance and says so.
The measurement (:func:`measure_actions`)
    For each action of the earlier report, per customer of either group: the
    purchases and the revenue from the list date to the new report date, and
    whether they bought at all. The uplift per customer is the difference of
    the group means (treated − control) of the margin on that revenue,
    adjusted for the value the strata were cut on (a regression of the margin
    on the group and that value, with a robust standard error: the stratified
    draw makes the groups alike in it, and the adjustment turns that into a
    narrower interval), with a 90% interval from the normal approximation; the
    total is that per customer times the treated
    customers. This is the effect of *being on the list* (intention to treat):
    with a contacts file that says some treated customers were never reached,
    the effect on those reached is the uplift divided by the share reached
    (Bloom, 1984), labelled as such.
Learned rates (:func:`learn_rates`)
    The plan assumed a value kept per customer (success rate × value at stake
    + uplift × expected value) over its horizon; scaled to the days measured,
    the measured uplift divided by it is the *effect ratio* of the action
    (1: as assumed, 0: no effect). The assumption counts as a prior worth
    :data:`PRIOR_CUSTOMERS` customers, the measurement as evidence worth
    ``1 / (1 / treated + 1 / control)`` customers (the sample size of the
    difference of two means); the learned ratio is their weighted mean, never
    below 0, and it multiplies the action's assumed success rate and uplift in
    the new plan. A rate is ``"measured"`` when the evidence carries at least
    :data:`MEASURED_WEIGHT` of the weight, ``"partly_measured"`` below that and
    ``"assumed"`` without a measurement. The learned ratio and its weight are
    kept in ``model.json`` and are the prior of the next report, so evidence
    adds up over reports.

References
----------
.. [1] Bloom, H. S. (1984). Accounting for no-shows in experimental evaluation
   designs. Evaluation Review 8(2), 225-246.
.. [2] Kohavi, R., Tang, D. and Xu, Y. (2020). Trustworthy Online Controlled
   Experiments. Cambridge University Press (control groups, intervals).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import ndtri

from clvreport.models.predictive import INTERVAL

__all__ = [
    "ACTION_COLUMNS",
    "CONTROL",
    "DEFAULT_CONTROL_SHARE",
    "INTERVAL",
    "MEASURED_WEIGHT",
    "MIN_CONTROL",
    "PRIOR_CUSTOMERS",
    "TREATED",
    "LearnedRate",
    "RateSource",
    "assign_control_groups",
    "control_seed",
    "hold_out_controls",
    "learn_rates",
    "measure_actions",
    "read_contacts",
]

TREATED = "treated"
CONTROL = "control"
ACTION_COLUMNS = ["customer_id", "action", "group", "list_date", "expected"]
"""Columns of ``actions.parquet``: who was on which list, in which group, from when, and
the value the action was expected to keep of the customer (the strata were cut on it)."""
DEFAULT_CONTROL_SHARE = 0.10
"""Share of each action's customers held back as control group by default."""
MIN_CONTROL = 30
"""Below this many control customers an action's effect cannot be told from chance."""
PRIOR_CUSTOMERS = 200.0
"""How many customers' worth of evidence the rule-file assumption counts as."""
MEASURED_WEIGHT = 0.75
"""Share of the weight the measurement must carry for a rate to count as measured."""

RateSource = Literal["assumed", "measured", "partly_measured"]


def control_seed(client: str, as_of: Any, action: str) -> int:
    """The seed of an action's control group: the same client, date and action, the same draw.

    Examples
    --------
    >>> control_seed("demo", "2024-06-30", "reward") == control_seed("demo", "2024-06-30", "reward")
    True
    """
    digest = hashlib.sha256(f"{client}|{as_of}|{action}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _by_value_then_id(rows: pd.DataFrame) -> np.ndarray:
    """Positions of ``rows`` by ``value``, largest first (NaN last), ties by id as text.

    The customers usually come in id order: then a stable sort on the value alone
    gives that order (a sort on both took 12 s for 5 million customers).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = pa.array(rows["customer_id"].astype(str))
    value = rows["value"].to_numpy(dtype=float)
    if len(ids) < 2 or pc.all(pc.less(ids[:-1], ids[1:])).as_py():
        return np.argsort(-value, kind="stable")
    table = pa.table({"value": pa.array(value, from_pandas=True), "id": ids})
    keys = [("value", "descending"), ("id", "ascending")]
    return pc.sort_indices(table, sort_keys=keys).to_numpy()


def assign_control_groups(
    lists: pd.DataFrame,
    *,
    share: float | Mapping[str, float] = DEFAULT_CONTROL_SHARE,
    client: str = "",
    as_of: Any = "",
) -> pd.Series:
    """Treated or control for every customer on an action list (see the module docstring).

    Parameters
    ----------
    lists
        One row per listed customer: ``customer_id``, ``action`` and ``value``
        (what the action is expected to keep of the customer: the strata are
        cut on it).
    share
        Control share, one for all actions or per action (missing actions take
        :data:`DEFAULT_CONTROL_SHARE`); 0 switches the control group off.
    client, as_of
        Seed the draw (:func:`control_seed`).

    Returns
    -------
    pandas.Series
        ``"treated"`` or ``"control"`` per row of ``lists`` (same index).

    Examples
    --------
    >>> lists = pd.DataFrame({"customer_id": [f"c{i}" for i in range(100)],
    ...                       "action": "reward", "value": np.arange(100.0)})
    >>> groups = assign_control_groups(lists, share=0.1, client="demo", as_of="2024-06-30")
    >>> int((groups == "control").sum())
    10
    """
    group = pd.Series(TREATED, index=lists.index, dtype=object)
    for action, rows in lists.groupby("action", sort=True, observed=True):
        rate = (
            share.get(str(action), DEFAULT_CONTROL_SHARE) if isinstance(share, Mapping) else share
        )
        if not rate or rate <= 0 or len(rows) < 2:
            continue
        rng = np.random.default_rng(control_seed(client, as_of, str(action)))
        # strata of 1 / share consecutive customers by value, one control customer each;
        # ties in value broken by id so the order does not depend on the input order
        order = rows.index[_by_value_then_id(rows)]
        size = 1.0 / float(rate)
        stratum = np.floor(np.arange(len(order)) / size).astype(np.int64)
        n_strata = int(stratum.max()) + 1
        starts = np.searchsorted(stratum, np.arange(n_strata))
        lengths = np.diff(np.append(starts, len(order)))
        # the last, incomplete stratum draws its control customer with the share it represents
        full = lengths >= size - 1e-9
        pick = starts + np.floor(rng.random(n_strata) * lengths).astype(np.int64)
        keep = full | (rng.random(n_strata) < lengths / size)
        chosen = order[pick[keep]]
        group.loc[chosen] = CONTROL
    return group


def _difference(
    value: np.ndarray, treated: np.ndarray, covariate: np.ndarray | None, interval: float
) -> tuple[float, float, float]:
    """Treated − control mean difference of ``value`` with its interval.

    With the covariate the groups were stratified on, the difference is the
    treatment coefficient of ``value ~ 1 + treated + covariate`` (regression
    adjustment: the strata make the groups alike in it, and adjusting for it
    gives the interval the stratified draw earns) with a heteroskedasticity-
    robust (HC1) standard error; without it, Welch's difference of two means.
    """
    z = float(ndtri(0.5 + interval / 2))  # the normal quantile
    if covariate is None or not np.all(np.isfinite(covariate)) or np.ptp(covariate) == 0:
        t, c = value[treated], value[~treated]
        diff = float(t.mean() - c.mean())
        se = math.sqrt(t.var(ddof=1) / t.size + c.var(ddof=1) / c.size)
        return diff, diff - z * se, diff + z * se
    design = np.column_stack(
        [np.ones(value.size), treated.astype(float), covariate - covariate.mean()]
    )
    inverse = np.linalg.pinv(design.T @ design)
    beta = inverse @ design.T @ value
    residual = value - design @ beta
    n, k = design.shape
    meat = (design * residual[:, None] ** 2).T @ design
    covariance = inverse @ meat @ inverse * n / max(n - k, 1)
    diff = float(beta[1])
    se = math.sqrt(max(float(covariance[1, 1]), 0.0))
    return diff, diff - z * se, diff + z * se


def measure_actions(
    actions: pd.DataFrame,
    outcome: pd.DataFrame,
    *,
    margin: float = 1.0,
    contacts: pd.DataFrame | None = None,
    interval: float = INTERVAL,
    min_control: int = MIN_CONTROL,
) -> pd.DataFrame:
    """What each action of an earlier report did: treated against control (intention to treat).

    Parameters
    ----------
    actions
        The earlier report's ``actions.parquet`` (:data:`ACTION_COLUMNS`); with
        ``expected`` (what the strata were cut on) the uplift is adjusted for
        it, which narrows the interval to what the stratified draw earns.
    outcome
        Per customer since the list date: ``customer_id``, ``purchases`` and
        ``revenue``. Customers missing from it did nothing (0, 0).
    margin
        Share of revenue that is margin (the uplift is in margin).
    contacts
        Optional: ``customer_id`` (and ``action``) of the customers actually
        contacted since the list date (e.g. an e-mail platform's export).
    interval
        Coverage of the uplift's interval.
    min_control
        Below this many control customers ``measurable`` is false.

    Returns
    -------
    pandas.DataFrame
        One row per action: ``action, treated, control, measurable``;
        ``bought_treated, bought_control`` (share who bought at all);
        ``purchases_treated, purchases_control`` (mean purchases);
        ``value_treated, value_control`` (mean margin per customer);
        ``uplift, uplift_low, uplift_high`` (per customer, margin, intention
        to treat) and ``total_uplift, total_low, total_high`` (times the
        treated customers); ``reached`` (share of the treated with a contact,
        NaN without contacts), ``control_contacted`` (control customers who
        were contacted anyway) and ``uplift_reached`` (the effect on those
        reached: uplift / reached).

    Examples
    --------
    >>> actions = pd.DataFrame({"customer_id": list("abcd"), "action": "reward",
    ...                         "group": ["treated", "treated", "control", "control"],
    ...                         "list_date": pd.Timestamp("2024-06-30")})
    >>> outcome = pd.DataFrame({"customer_id": list("abcd"), "purchases": [2, 1, 0, 1],
    ...                         "revenue": [100.0, 50.0, 0.0, 30.0]})
    >>> row = measure_actions(actions, outcome, min_control=1).iloc[0]
    >>> float(row["uplift"]), bool(row["measurable"])
    (60.0, True)
    """
    columns = [
        "action",
        "treated",
        "control",
        "measurable",
        "bought_treated",
        "bought_control",
        "purchases_treated",
        "purchases_control",
        "value_treated",
        "value_control",
        "uplift",
        "uplift_low",
        "uplift_high",
        "total_uplift",
        "total_low",
        "total_high",
        "reached",
        "control_contacted",
        "uplift_reached",
    ]
    if actions.empty:
        return pd.DataFrame(columns=columns)
    by_customer = outcome.assign(customer_id=outcome["customer_id"].astype(str)).set_index(
        "customer_id"
    )
    frame = actions.assign(customer_id=actions["customer_id"].astype(str))
    purchases = by_customer["purchases"].reindex(frame["customer_id"]).fillna(0.0).to_numpy(float)
    revenue = by_customer["revenue"].reindex(frame["customer_id"]).fillna(0.0).to_numpy(float)
    frame = frame.assign(purchases=purchases, value=margin * revenue, bought=purchases > 0)
    contacted: set[tuple[str, str]] | set[str] | None = None
    by_action = False
    if contacts is not None:
        by_action = "action" in contacts
        if by_action:
            contacted = set(
                zip(
                    contacts["customer_id"].astype(str), contacts["action"].astype(str), strict=True
                )
            )
        else:
            contacted = set(contacts["customer_id"].astype(str))
    rows = []
    for action, rows_of in frame.groupby("action", sort=False, observed=True):
        treated = rows_of[rows_of["group"] == TREATED]
        control = rows_of[rows_of["group"] == CONTROL]
        n_t, n_c = len(treated), len(control)
        row: dict[str, Any] = {c: math.nan for c in columns}
        row.update(action=str(action), treated=n_t, control=n_c)
        measurable = n_t >= 2 and n_c >= max(min_control, 2)
        row["measurable"] = measurable
        for name, group in (("treated", treated), ("control", control)):
            if len(group):
                row[f"bought_{name}"] = float(group["bought"].mean())
                row[f"purchases_{name}"] = float(group["purchases"].mean())
                row[f"value_{name}"] = float(group["value"].mean())
        if n_t >= 2 and n_c >= 2:
            both = rows_of[rows_of["group"].isin([TREATED, CONTROL])]
            covariate = (
                np.log1p(np.clip(both["expected"].to_numpy(float), 0.0, None))
                if "expected" in both
                else None
            )
            uplift, low, high = _difference(
                both["value"].to_numpy(float),
                (both["group"] == TREATED).to_numpy(),
                covariate,
                interval,
            )
            row.update(
                uplift=uplift,
                uplift_low=low,
                uplift_high=high,
                total_uplift=uplift * n_t,
                total_low=low * n_t,
                total_high=high * n_t,
            )
        if contacted is not None:

            def was_contacted(ids: pd.Series, action: str = str(action)) -> np.ndarray:
                if by_action:
                    return np.array([(i, action) in contacted for i in ids.astype(str)])
                return ids.astype(str).isin(contacted).to_numpy()

            reached = float(was_contacted(treated["customer_id"]).mean()) if n_t else math.nan
            row["reached"] = reached
            row["control_contacted"] = int(was_contacted(control["customer_id"]).sum())
            if reached > 0 and math.isfinite(row["uplift"]):
                row["uplift_reached"] = row["uplift"] / reached
        rows.append(row)
    table = pd.DataFrame(rows, columns=columns)
    for name in ("treated", "control"):
        table[name] = table[name].astype(int)
    table["measurable"] = table["measurable"].astype(bool)
    return table


@dataclass(frozen=True)
class LearnedRate:
    """What was learned of one action's effect.

    Attributes
    ----------
    action
        The action.
    ratio
        Effect ratio: measured effect / assumed effect (1: as assumed). It
        multiplies the assumed success rate and uplift.
    weight
        Customers' worth of evidence behind ``ratio``, the prior included.
    evidence
        The part of ``weight`` that comes from measurements.
    source
        ``"assumed"``, ``"measured"`` or ``"partly_measured"``.
    """

    action: str
    ratio: float
    weight: float
    evidence: float
    source: RateSource

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "ratio": self.ratio,
            "weight": self.weight,
            "evidence": self.evidence,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, action: str, data: Mapping[str, Any]) -> LearnedRate:
        """Rebuild from :meth:`to_dict` (e.g. the earlier report's ``model.json``)."""
        return cls(
            action,
            float(data.get("ratio", 1.0)),
            float(data.get("weight", PRIOR_CUSTOMERS)),
            float(data.get("evidence", 0.0)),
            data.get("source", "assumed"),
        )


def _source(evidence: float, weight: float) -> RateSource:
    if evidence <= 0:
        return "assumed"
    return "measured" if evidence / weight >= MEASURED_WEIGHT else "partly_measured"


def learn_rates(
    measured: pd.DataFrame,
    promised: Mapping[str, float],
    *,
    prior: Mapping[str, LearnedRate] | None = None,
    prior_customers: float = PRIOR_CUSTOMERS,
) -> dict[str, LearnedRate]:
    """The effect ratio per action: the assumption (or what was learned before) and a measurement.

    Parameters
    ----------
    measured
        :func:`measure_actions` of the earlier report's actions.
    promised
        The value kept per treated customer the earlier plan assumed over the
        days measured (the same margin and days as ``measured``'s uplift).
    prior
        What was learned up to the earlier report (its ``model.json``); an
        action without one starts from the assumption (ratio 1, worth
        ``prior_customers``).
    prior_customers
        What the assumption is worth, in customers.

    Returns
    -------
    dict
        ``{action: LearnedRate}`` for every action of ``prior`` and ``measured``.

    Examples
    --------
    >>> measured = pd.DataFrame({"action": ["reward"], "treated": [900], "control": [100],
    ...                          "measurable": [True], "uplift": [5.0]})
    >>> rate = learn_rates(measured, {"reward": 10.0})["reward"]
    >>> round(rate.ratio, 3), rate.source  # evidence worth 90 customers against 200
    (0.845, 'partly_measured')
    """
    prior = dict(prior or {})
    learned = {
        action: LearnedRate(action, rate.ratio, rate.weight, rate.evidence, rate.source)
        for action, rate in prior.items()
    }
    for row in measured.itertuples(index=False):
        action = str(row.action)
        before = learned.get(action) or LearnedRate(action, 1.0, prior_customers, 0.0, "assumed")
        expected = float(promised.get(action, math.nan))
        uplift = float(row.uplift)
        if not (
            row.measurable and math.isfinite(uplift) and math.isfinite(expected) and expected > 0
        ):
            continue
        n_t, n_c = float(row.treated), float(row.control)
        evidence = 1.0 / (1.0 / n_t + 1.0 / n_c)
        ratio_measured = uplift / expected
        weight = before.weight + evidence
        ratio = max((before.weight * before.ratio + evidence * ratio_measured) / weight, 0.0)
        total_evidence = before.evidence + evidence
        learned[action] = LearnedRate(
            action, ratio, weight, total_evidence, _source(total_evidence, weight)
        )
    return learned


def read_contacts(
    contacts: Any, client_dir: Path | str, *, start: Any = None, end: Any = None
) -> pd.DataFrame:
    """Who was contacted between two dates, from the client's contacts export.

    Parameters
    ----------
    contacts
        The client's :class:`~clvreport.config.ContactsConfig`.
    client_dir
        The client folder; every file must lie inside it.
    start, end
        Keep contacts dated after ``start`` up to ``end`` (when the export has dates).

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` (text) and, when mapped, ``action``.

    Raises
    ------
    clvreport.errors.DataError
        Naming the file and column, for a file outside the client folder, a
        missing column or unreadable dates.

    Examples
    --------
    >>> from clvreport.config import load_client
    >>> client_dir, config = load_client("demo", "data")  # doctest: +SKIP
    >>> read_contacts(config.contacts, client_dir, start="2024-06-30").head(2)  # doctest: +SKIP
      customer_id  action
    0      100006  reward
    1      100085  reward
    """
    from clvreport.errors import DataError
    from clvreport.ingest.sources import resolve_sources

    base = Path(client_dir).resolve()
    frames = []
    columns = contacts.columns
    wanted = {"customer_id": columns.customer_id, "date": columns.date, "action": columns.action}
    wanted = {k: v for k, v in wanted.items() if v}
    for source in resolve_sources(contacts.sources, base_dir=base):
        path = source.path.resolve()
        if not path.is_relative_to(base):
            raise DataError(
                "the contacts file lies outside the client folder",
                path=source.path,
                hint="copy the export into the client folder",
            )
        frames.append(_read_contact_file(path, source.format, contacts.csv, wanted))
    table = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["customer_id"])
    )
    table["customer_id"] = table["customer_id"].astype(str).str.strip()
    if "date" in table:
        keep = pd.Series(True, index=table.index)
        if start is not None:
            keep &= table["date"] > pd.Timestamp(start)
        if end is not None:
            keep &= table["date"] <= pd.Timestamp(end)
        table = table[keep]
    if "action" in table:
        table["action"] = table["action"].astype(str).str.strip()
    return table[[c for c in ("customer_id", "action") if c in table]].reset_index(drop=True)


def _read_contact_file(path: Path, fmt: str, csv: Any, wanted: Mapping[str, str]) -> pd.DataFrame:
    """One contacts file with the mapped columns renamed to their fields."""
    from clvreport.errors import DataError

    try:
        if fmt == "excel":
            from clvreport.safe_files import check_workbook

            check_workbook(path)
            raw = pd.read_excel(path, dtype=str)
        elif fmt == "csv":
            encodings = ["utf-8-sig", "cp1252"] if csv.encoding == "auto" else [csv.encoding]
            delimiter = None if csv.delimiter == "auto" else csv.delimiter
            raw = None
            for encoding in encodings:
                try:
                    raw = pd.read_csv(
                        path, sep=delimiter, engine="python", dtype=str, encoding=encoding
                    )
                    break
                except UnicodeDecodeError:
                    continue
            if raw is None:
                raise DataError("cannot read the file's characters", path=path)
        else:
            raw = pd.read_parquet(path).astype(str)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the contacts file: {exc}", path=path) from None
    missing = [column for column in wanted.values() if column not in raw.columns]
    if missing:
        found = ", ".join(map(str, list(raw.columns)[:10]))
        raise DataError(
            f"the contacts file has no column '{missing[0]}'",
            path=path,
            hint=f"columns found: {found}; set contacts.columns in client.yml",
        )
    table = raw[list(wanted.values())].set_axis(list(wanted), axis=1)
    if "date" in table:
        text = table["date"].astype(str).str.strip()
        fmt_date = None if csv.date_format in (None, "auto") else csv.date_format
        parsed = pd.to_datetime(text, format=fmt_date, dayfirst=fmt_date is None, errors="coerce")
        bad = parsed.isna() & text.ne("") & table["date"].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise DataError(
                f"row {row}, column '{wanted['date']}': '{text[bad].iloc[0]}' is not a date",
                path=path,
                hint="set contacts.csv.date_format, e.g. '%d-%m-%Y'",
            )
        table = table.assign(date=parsed)
    return table


def hold_out_controls(
    per_customer: pd.DataFrame,
    advised: set[str] | frozenset[str],
    *,
    shares: Mapping[str, float] | float = DEFAULT_CONTROL_SHARE,
    client: str = "",
    as_of: Any = "",
) -> pd.Series:
    """The group of every customer on an advised action's list; empty for the others.

    Parameters
    ----------
    per_customer
        :func:`~clvreport.recommendations.customer_actions`: a customer is on
        a list when their action is advised and ``contact`` is true.
    advised
        The actions of the plan that pay (their lists are exported).
    shares
        Control share per action (or one for all), see :func:`assign_control_groups`.
    client, as_of
        Seed of the draw.

    Returns
    -------
    pandas.Series
        ``"treated"``, ``"control"`` or ``None`` per row of ``per_customer``.

    Examples
    --------
    >>> per = pd.DataFrame({"customer_id": [f"c{i}" for i in range(50)], "action": "reward",
    ...                     "contact": True, "value_kept": np.arange(50.0)})
    >>> groups = hold_out_controls(per, {"reward"}, shares=0.1, client="demo", as_of="2024-06-30")
    >>> groups.value_counts().to_dict()
    {'treated': 45, 'control': 5}
    """
    groups = np.full(len(per_customer), None, dtype=object)
    # the actions compared as they are (a categorical compares its categories), and only
    # the listed customers' turned into text: at 17 million customers that was seconds
    action = per_customer["action"]
    listed = (
        action.isin([*advised]).to_numpy(dtype=bool, na_value=False)
        & per_customer["contact"].fillna(False).astype(bool).to_numpy()
    )
    if listed.any():
        lists = pd.DataFrame(
            {
                "customer_id": per_customer["customer_id"].to_numpy()[listed],
                "action": action[listed].astype(str).to_numpy(),
                "value": np.nan_to_num(per_customer["value_kept"].to_numpy(dtype=float)[listed]),
            },
            index=per_customer.index[listed],
        )
        drawn = assign_control_groups(lists, share=shares, client=client, as_of=as_of)
        groups[listed] = drawn.to_numpy()
    return pd.Series(groups, index=per_customer.index, dtype=object)
