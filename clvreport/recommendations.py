"""Retention recommendations per segment, ranked by the money at stake.

The rules are data (``clvreport/rules/recommendations.yml``): each RFM segment
maps to an action key whose text lives in the message catalogs. A client can
override them in ``client.yml`` under ``recommendations:``.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import pandas as pd
import yaml

from clvreport.errors import ConfigError

__all__ = ["group_by_action", "load_recommendation_rules", "recommend"]


def load_recommendation_rules(overrides: dict[str, Any] | None = None) -> dict[str, dict]:
    """The packaged rules with a client's overrides merged in.

    Parameters
    ----------
    overrides
        ``{segment: {action: ..., priority: ...}}``; ``None`` as a value drops
        the segment's recommendation.

    Returns
    -------
    dict
        ``{segment: {"action": str, "priority": int}}``.

    Examples
    --------
    >>> load_recommendation_rules({"lost": None}).get("lost") is None
    True
    """
    text = resources.files("clvreport").joinpath("rules/recommendations.yml").read_text("utf-8")
    rules: dict[str, dict] = yaml.safe_load(text)
    for segment, rule in (overrides or {}).items():
        if rule is None:
            rules.pop(segment, None)
            continue
        if not isinstance(rule, dict) or set(rule) - {"action", "priority"}:
            raise ConfigError(
                f"recommendations.{segment}: expected a mapping with 'action' and/or 'priority'",
                hint="see clvreport/rules/recommendations.yml for the format",
            )
        rules[segment] = {**rules.get(segment, {"priority": 9}), **rule}
    return rules


def recommend(segments: pd.DataFrame, rules: dict[str, dict]) -> pd.DataFrame:
    """One recommendation per non-empty segment, largest money at stake first.

    Parameters
    ----------
    segments
        Per segment: ``segment``, ``n_customers`` and ``value_at_risk`` (or,
        without a model, ``revenue``).
    rules
        From :func:`load_recommendation_rules`.

    Returns
    -------
    DataFrame
        ``segment, action, customers, value_at_stake, priority``: the money at
        stake is the segment's value at risk (yearly value likely to be lost),
        or its revenue when no model could be used.

    Examples
    --------
    >>> seg = pd.DataFrame({"segment": ["loyal", "lost"], "n_customers": [10, 5],
    ...                     "value_at_risk": [100.0, 300.0]})
    >>> recommend(seg, load_recommendation_rules())["segment"].tolist()
    ['lost', 'loyal']
    """
    stake = "value_at_risk" if "value_at_risk" in segments else "revenue"
    rows = [
        {
            "segment": row.segment,
            "action": rules[row.segment]["action"],
            "customers": int(row.n_customers),
            "value_at_stake": float(getattr(row, stake)),
            "priority": int(rules[row.segment].get("priority", 9)),
        }
        for row in segments.itertuples(index=False)
        if row.segment in rules and row.n_customers > 0
    ]
    frame = pd.DataFrame(
        rows, columns=["segment", "action", "customers", "value_at_stake", "priority"]
    )
    return frame.sort_values(
        ["value_at_stake", "priority"], ascending=[False, True], ignore_index=True
    )


def group_by_action(actions: pd.DataFrame) -> pd.DataFrame:
    """Merge the segments that share an action into one recommendation.

    The report lists each action once ("call them personally: At risk and
    Can't lose them, 775 customers"), instead of repeating the same advice per
    segment.

    Parameters
    ----------
    actions
        Output of :func:`recommend`.

    Returns
    -------
    DataFrame
        ``action, segments, customers, value_at_stake, priority``: ``segments``
        is a tuple of segment codes, largest money at stake first; customers and
        money are summed; ``priority`` is the most urgent of the group. Ordered
        like :func:`recommend`.

    Examples
    --------
    >>> seg = pd.DataFrame({"segment": ["at_risk", "lost", "cant_lose_them"],
    ...                     "n_customers": [10, 50, 5],
    ...                     "value_at_risk": [300.0, 20.0, 200.0]})
    >>> grouped = group_by_action(recommend(seg, load_recommendation_rules()))
    >>> grouped[["action", "segments", "customers", "value_at_stake"]].values.tolist()
    [['win_back_personal', ('at_risk', 'cant_lose_them'), 15, 500.0], \
['low_cost_reactivation', ('lost',), 50, 20.0]]
    """
    columns = ["action", "segments", "customers", "value_at_stake", "priority"]
    if actions.empty:
        return pd.DataFrame(columns=columns)
    grouped = (
        actions.groupby("action", sort=False)
        .agg(
            segments=("segment", tuple),
            customers=("customers", "sum"),
            value_at_stake=("value_at_stake", "sum"),
            priority=("priority", "min"),
        )
        .reset_index()
    )
    grouped["customers"] = grouped["customers"].astype(int)
    return grouped[columns].sort_values(
        ["value_at_stake", "priority"], ascending=[False, True], ignore_index=True
    )
