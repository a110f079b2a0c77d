"""How the report's two decisions move with its inputs: the base value and the plan's net return.

Every figure a manager signs rests on inputs someone chose: the margin, the
discount rate, the horizon and the actions' success rates. :func:`sensitivity`
moves each of them by half (``× 0.5`` and ``× 1.5``, the margin at most 100%)
with the others as they are and recomputes

* the **base value**: the expected value of all customers over the horizon
  (the sum of their CLV), and
* the **plan's net return**: value kept minus cost of the advised actions for
  the customers they contact (the plan as decided: the same actions and lists).

The model is not refitted: margin, discount and horizon change how its
forecast is valued, the success rates what an action is assumed to keep.
Above :data:`SAMPLE_CUSTOMERS` customers the moves are computed on a seeded
random sample and applied to the whole base as ratios.

:func:`break_even_success_rates` gives per action the success rate at which it
stops paying ("this action pays as long as more than x% of the value at stake
comes back"), and :func:`break_even_margins` the gross margin below which it
stops paying.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clvreport.customer_groups import value_at_stake
from clvreport.recommendations import PlanRules, customer_actions

__all__ = [
    "INPUTS",
    "SAMPLE_CUSTOMERS",
    "SPREAD",
    "break_even_margins",
    "break_even_success_rates",
    "plan_customers",
    "sensitivity",
    "sensitivity_json",
]

SPREAD = 0.5
"""Each input is moved down and up by this share of its value."""
INPUTS = ("gross_margin", "discount_rate", "horizon_months", "success_rate")
SAMPLE_CUSTOMERS = 200_000
"""Above this many customers the moves are computed on a sample of this many."""
_VALUE_COLUMNS = (
    "clv",
    "clv_if_alive",
    "clv_lifetime",
    "clv_if_alive_lifetime",
    "winback_value",
    "winback_value_lifetime",
)


@dataclass(frozen=True)
class _Variant:
    gross_margin: float
    discount_rate: float
    horizon_months: int
    success: float = 1.0


def _of_actions(actions: pd.Series, wanted: set[Any]) -> np.ndarray:
    """Whether each row's action, as text, is one of ``wanted``.

    A categorical column is read by its codes (its few categories compared as
    text): millions of actions made text took seconds, and as many Python strings
    a gigabyte.

    Examples
    --------
    >>> _of_actions(pd.Series(pd.Categorical(["a", "b", None])), {"a"}).tolist()
    [True, False, False]
    """
    wanted = {str(w) for w in wanted}
    if isinstance(actions.dtype, pd.CategoricalDtype):
        hit = [str(name) in wanted for name in actions.cat.categories]
        return np.array([*hit, False])[actions.cat.codes.to_numpy()]  # code -1: missing
    return actions.astype(str).isin(wanted).to_numpy()


def plan_customers(per_customer: pd.DataFrame, plan: pd.DataFrame) -> np.ndarray:
    """Which rows of ``per_customer`` the plan contacts: advised action, worth it, not control.

    Examples
    --------
    >>> per = pd.DataFrame({"action": ["a", "a", "b"], "contact": [True, False, True]})
    >>> plan = pd.DataFrame({"action": ["a", "b"], "profitable": [True, False]})
    >>> plan_customers(per, plan).tolist()
    [True, False, False]
    """
    advised = set(plan.loc[plan["profitable"].fillna(False).astype(bool), "action"])
    chosen = _of_actions(per_customer["action"], advised)
    chosen = chosen & per_customer["contact"].fillna(False).astype(bool).to_numpy()
    if "group" in per_customer:
        chosen = chosen & (per_customer["group"] != "control").to_numpy()
    return chosen


def break_even_success_rates(
    per_customer: pd.DataFrame, plan: pd.DataFrame, rules: PlanRules
) -> dict[str, float | None]:
    """Per action, the success rate at which its net return is zero for its contacted customers.

    ``kept = success × stake + uplift × clv`` per customer, so the break-even is
    ``(cost − uplift × Σ clv) / Σ stake``; ``None`` when nothing is at stake
    (a growth action pays on its uplift alone, or never).

    Examples
    --------
    >>> per = pd.DataFrame({"action": ["win_back_personal"] * 2, "contact": True,
    ...                     "value_at_stake": [200.0, 100.0], "contact_cost": [10.0, 10.0],
    ...                     "value_added": [0.0, 0.0]})
    >>> plan = pd.DataFrame({"action": ["win_back_personal"], "profitable": [True]})
    >>> round(break_even_success_rates(per, plan, PlanRules.default())["win_back_personal"], 4)
    0.0667
    """
    chosen = plan_customers(per_customer, plan)
    out: dict[str, float | None] = {}
    for action in plan["action"]:
        mine = _of_actions(per_customer["action"], {action})
        rows = per_customer[chosen & mine]
        if rows.empty:
            rows = per_customer[mine]
        stake = float(np.nansum(rows["value_at_stake"].to_numpy(dtype=float)))
        cost = float(np.nansum(rows["contact_cost"].to_numpy(dtype=float)))
        added = float(np.nansum(rows["value_added"].to_numpy(dtype=float)))
        out[str(action)] = max((cost - added) / stake, 0.0) if stake > 0 else None
    return out


def break_even_margins(plan: pd.DataFrame, gross_margin: float) -> dict[str, float | None]:
    """Per action, the gross margin at which its net return is zero (value kept is ∝ margin).

    Examples
    --------
    >>> plan = pd.DataFrame({"action": ["reward"], "cost": [50.0], "value_kept": [200.0]})
    >>> break_even_margins(plan, 0.4)["reward"]
    0.1
    """
    out: dict[str, float | None] = {}
    for row in plan.itertuples(index=False):
        kept = float(row.value_kept)
        out[str(row.action)] = (
            float(row.cost) / kept * gross_margin if math.isfinite(kept) and kept > 0 else None
        )
    return out


def _rescore(analysis: Any, variant: _Variant, ids: pd.Index) -> pd.DataFrame:
    """The customers' values under other margin, discount and horizon (no refit), by id."""
    from clvreport.audiences import audience

    config = analysis.config
    kind = audience(config.business)
    options = {"discount_rate": variant.discount_rate, "gross_margin": variant.gross_margin}
    frames = {}
    for name, months in (
        ("", variant.horizon_months),
        ("_lifetime", config.lifetime_years * 12),
    ):
        scores = kind.rescore(analysis, ids, horizon_months=months, **options)
        scores = scores.assign(customer_id=scores["customer_id"].astype(str)).set_index(
            "customer_id"
        )
        frames[f"clv{name}"] = scores["clv"]
        frames[f"clv_if_alive{name}"] = scores["clv_if_alive"]
        if "winback_value" in scores:
            frames[f"winback_value{name}"] = scores["winback_value"]
    return pd.DataFrame(frames).reindex(ids)


def _variant_customers(
    analysis: Any, customers: pd.DataFrame, base: _Variant, variant: _Variant
) -> pd.DataFrame:
    """``customers`` with its values (and value at stake) under ``variant``."""
    out = customers.copy()
    if (variant.discount_rate, variant.horizon_months) == (base.discount_rate, base.horizon_months):
        factor = variant.gross_margin / base.gross_margin
        for column in _VALUE_COLUMNS:
            if column in out:
                out[column] = out[column] * factor
    else:
        ids = pd.Index(out["customer_id"].astype(str))
        values = _rescore(analysis, variant, ids)
        for column in _VALUE_COLUMNS:
            if column in out and column in values:
                out[column] = values[column].to_numpy()
    basis = analysis.risk_basis
    out["value_at_stake"] = value_at_stake(out, basis)
    if "clv_lifetime" in out:
        out["value_at_stake_lifetime"] = value_at_stake(
            out, basis, clv="clv_lifetime", clv_if_alive="clv_if_alive_lifetime"
        )
    return out


def sensitivity(
    analysis: Any,
    per_customer: pd.DataFrame,
    plan: pd.DataFrame,
    rules: PlanRules,
    *,
    spread: float = SPREAD,
    seed: int = 0,
) -> pd.DataFrame:
    """Base value and plan net return with each input moved down and up (see the module docstring).

    Parameters
    ----------
    analysis
        The :class:`~clvreport.analysis.Analysis` (its model scores the variants).
    per_customer, plan, rules
        The report's customer actions (with control groups), plan and rules.
    spread
        Share each input moves by.
    seed
        Seed of the sample on large bases.

    Returns
    -------
    pandas.DataFrame
        One row per input of :data:`INPUTS`: ``input, value, low, high`` (the
        input's value and its two moves), ``base_value, base_low, base_high``
        and ``net_return, net_low, net_high``.

    Examples
    --------
    >>> per, plan, rules = ctx.customer_actions, ctx.plan, ctx.plan_rules  # doctest: +SKIP
    >>> table = sensitivity(analysis, per, plan, rules)  # doctest: +SKIP
    >>> table.set_index("input").loc["gross_margin", ["base_low", "base_high"]]  # doctest: +SKIP
    """
    config = analysis.config
    customers = analysis.customers
    chosen = plan_customers(per_customer, plan)
    in_plan = pd.Series(False, index=customers.index)
    in_plan.loc[per_customer.index[chosen]] = True
    sample = customers
    if len(customers) > SAMPLE_CUSTOMERS:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(len(customers), SAMPLE_CUSTOMERS, replace=False))
        sample = customers.iloc[rows]
    used = [
        c
        for c in (
            "customer_id",
            "segment",
            "expected_spend",
            "revenue",
            "n_purchases",
            "p_alive",
            "p_silence",
            *_VALUE_COLUMNS,
            "value_at_stake",
            "value_at_stake_lifetime",
        )
        if c in sample
    ]
    sample = sample[used]
    base = _Variant(config.gross_margin, config.discount_rate, config.horizon_months)
    contacted = in_plan.reindex(sample.index).to_numpy()

    def figures(variant: _Variant) -> tuple[float, float]:
        frame = sample if variant == base else _variant_customers(analysis, sample, base, variant)
        actions = customer_actions(
            frame, rules.with_ratios({a: variant.success for a in rules.actions})
        )
        mask = contacted[frame.index.get_indexer(actions.index)]
        net = float(np.nansum((actions["value_kept"] - actions["contact_cost"]).to_numpy()[mask]))
        return float(frame["clv"].sum()), net

    base_value, base_net = figures(base)
    scale = float(customers["clv"].sum()) / base_value if base_value else 1.0
    net_scale = 1.0
    full_net = float(plan.loc[plan["profitable"].fillna(False).astype(bool), "net_return"].sum())
    if base_net:
        net_scale = full_net / base_net
    moves = {
        "gross_margin": (
            config.gross_margin,
            config.gross_margin * (1 - spread),
            min(config.gross_margin * (1 + spread), 1.0),
        ),
        "discount_rate": (
            config.discount_rate,
            config.discount_rate * (1 - spread),
            min(config.discount_rate * (1 + spread), 0.99),
        ),
        "horizon_months": (
            config.horizon_months,
            max(round(config.horizon_months * (1 - spread)), 1),
            round(config.horizon_months * (1 + spread)),
        ),
        "success_rate": (1.0, 1 - spread, 1 + spread),
    }
    rows = []
    for name in INPUTS:
        value, low, high = moves[name]
        results = []
        for moved in (low, high):
            kwargs = {
                "gross_margin": base.gross_margin,
                "discount_rate": base.discount_rate,
                "horizon_months": base.horizon_months,
                "success": 1.0,
            }
            kwargs["success" if name == "success_rate" else name] = moved
            results.append(figures(_Variant(**kwargs)))
        rows.append(
            {
                "input": name,
                "value": value,
                "low": low,
                "high": high,
                "base_value": base_value * scale,
                "base_low": results[0][0] * scale,
                "base_high": results[1][0] * scale,
                "net_return": full_net,
                "net_low": results[0][1] * net_scale,
                "net_high": results[1][1] * net_scale,
            }
        )
    return pd.DataFrame(rows)


def sensitivity_json(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``model.json`` → ``sensitivity``: per input its values and the two figures at each.

    Examples
    --------
    >>> sensitivity_json(pd.DataFrame([{"input": "gross_margin", "value": 0.4, "low": 0.2,
    ...     "high": 0.6, "base_value": 10.0, "base_low": 5.0, "base_high": 15.0,
    ...     "net_return": 2.0, "net_low": 0.5, "net_high": 3.5}]))["gross_margin"]["base_low"]
    5.0
    """
    out: dict[str, dict[str, float]] = {}
    for row in table.to_dict(orient="records"):
        name = str(row.pop("input"))
        out[name] = {k: float(v) for k, v in row.items()}
    return out
