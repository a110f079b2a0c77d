"""Retention recommendations per segment, as a plan with money.

The rules are data (``clvreport/rules/recommendations.yml``): each RFM segment
maps to an action key whose text lives in the message catalogs; each action has
a channel (phone, e-mail, letter, discount voucher) and a stated success rate;
each channel has a cost per contact. Every figure there is an assumption; a
client overrides them in ``client.yml`` (``recommendations:``, ``actions:``,
``costs:``).

The economics, per customer and summed per action:

- **value at stake** = ``value_at_stake_lifetime`` (when the analysis has it,
  else ``value_at_stake``): (1 − P(alive)) × what the customer is worth if still
  active over their expected remaining lifetime, capped at ``lifetime_years``
  (keeping a customer is worth more than one horizon's purchases);
- **value kept** = success rate × value at stake + uplift × CLV (the uplift is
  for growth actions on active customers, whose value at stake is small);
- **cost** = cost per contact of the channel (discount voucher: sending it plus
  voucher share × the customer's average order value × redemption);
- **net return** = value kept − cost.

For channels marked ``only_worth_contacting`` (phone, letter, discount) an
action contacts only the customers whose own value kept exceeds their contact
cost; its customers, value at stake, cost and value kept are those customers'.
An action that does not return at least 1.5 times its cost
(:data:`MIN_RETURN_ON_COST`) is flagged ``profitable = False`` ("niet
rendabel") with the figures of contacting all its segments' customers.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import ValidationError

from clvreport.audiences import audience, running
from clvreport.config import ContactCosts
from clvreport.customer_groups import AT_RISK_P_CANCEL
from clvreport.errors import ConfigError

__all__ = [
    "CHANNELS",
    "CUSTOMER_ACTION_COLUMNS",
    "MIN_RETURN_ON_COST",
    "PLAN_COLUMNS",
    "PlanRules",
    "action_plan",
    "customer_actions",
    "group_by_action",
    "load_action_rules",
    "load_channel_costs",
    "load_recommendation_rules",
    "plan_actions",
    "recommend",
    "sheet_names",
]

CHANNELS = ("phone", "email", "letter", "discount")
"""The contact channels an action can use."""

PLAN_COLUMNS = [
    "action",
    "segments",
    "segment_customers",
    "customers",
    "value_at_stake",
    "channel",
    "cost_per_contact",
    "success_rate",
    "uplift",
    "cost",
    "value_kept",
    "value_added",
    "net_return",
    "max_spend_per_customer",
    "profitable",
    "priority",
    "control",
    "rate_source",
    "value_kept_horizon",
    "list_name",
]
"""Columns of :func:`plan_actions`."""

MIN_RETURN_ON_COST = 0.5
"""An action is advised only when its net return is at least half its cost (it returns
1.5 times what it costs): a margin for the uncertainty of the assumed success rates."""

CUSTOMER_ACTION_COLUMNS = [
    "customer_id",
    "segment",
    "action",
    "channel",
    "value_at_stake",
    "contact_cost",
    "value_kept",
    "value_added",
    "net_return",
    "contact",
    "value_kept_horizon",
]
"""Columns of :func:`customer_actions`."""

_ACTION_KEYS = ("channel", "success_rate", "uplift", "only_worth_contacting")
_COST_KEYS = {
    "phone": ("phone", "cost_per_contact"),
    "email": ("email", "cost_per_contact"),
    "letter": ("letter", "cost_per_contact"),
    "discount": ("discount", "cost_per_contact"),
    "discount_share": ("discount", "share"),
    "discount_redemption": ("discount", "redemption"),
}
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_MAX = 31


def _packaged_rules() -> dict[str, Any]:
    text = resources.files("clvreport").joinpath("rules/recommendations.yml").read_text("utf-8")
    return yaml.safe_load(text)


def load_recommendation_rules(overrides: dict[str, Any] | None = None) -> dict[str, dict]:
    """The packaged segment → action rules with a client's overrides merged in.

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
    rules: dict[str, dict] = dict(_packaged_rules()["segments"])
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


def _share(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(
            f"{key}: expected a share between 0 and 1 (0.2 = 20%), got {value!r}",
            hint="write shares as decimals in client.yml, e.g. success_rate: 0.15",
        )
    return float(value)


def load_action_rules(overrides: Mapping[str, Any] | None = None) -> dict[str, dict]:
    """The packaged assumptions per action with a client's ``actions:`` overrides.

    Parameters
    ----------
    overrides
        ``{action: {channel, success_rate, uplift, only_worth_contacting}}``;
        each key optional for a packaged action. A new action (one a
        ``recommendations:`` override names) needs at least ``channel`` and
        ``success_rate``.

    Returns
    -------
    dict
        ``{action: {"channel": str, "success_rate": float, "uplift": float,
        "only_worth_contacting": bool | None}}`` (``None``: the channel decides).

    Raises
    ------
    ConfigError
        Naming the key (``actions.<action>.<key>``) and what is allowed.

    Examples
    --------
    >>> rules = load_action_rules({"win_back_personal": {"channel": "email"}})
    >>> rules["win_back_personal"]["channel"], rules["win_back_personal"]["success_rate"]
    ('email', 0.2)
    """
    rules: dict[str, dict] = {}
    for action, rule in _packaged_rules()["actions"].items():
        rules[action] = {"uplift": 0.0, "only_worth_contacting": None, **rule}
    for action, rule in (overrides or {}).items():
        key = f"actions.{action}"
        if not isinstance(rule, Mapping):
            raise ConfigError(
                f"{key}: expected a mapping with {', '.join(_ACTION_KEYS)}, got {rule!r}",
                hint="for example: actions: {win_back_personal: {channel: email}}",
            )
        for name in rule:
            if name not in _ACTION_KEYS:
                close = difflib.get_close_matches(str(name), _ACTION_KEYS, n=1)
                did = f"; did you mean '{close[0]}'?" if close else ""
                raise ConfigError(
                    f"{key}.{name}: unknown key{did} Allowed here: {', '.join(_ACTION_KEYS)}."
                )
        if action not in rules and not {"channel", "success_rate"} <= set(rule):
            known = ", ".join(sorted(rules))
            raise ConfigError(
                f"{key}: not a known action; a new action needs at least 'channel' and "
                f"'success_rate'",
                hint=f"known actions: {known}",
            )
        merged = {**rules.get(action, {"uplift": 0.0, "only_worth_contacting": None}), **rule}
        if merged["channel"] not in CHANNELS:
            raise ConfigError(
                f"{key}.channel: '{merged['channel']}' is not a channel; "
                f"use one of {', '.join(CHANNELS)}"
            )
        merged["success_rate"] = _share(merged["success_rate"], f"{key}.success_rate")
        merged["uplift"] = _share(merged["uplift"], f"{key}.uplift")
        if merged["only_worth_contacting"] not in (None, True, False):
            raise ConfigError(
                f"{key}.only_worth_contacting: expected true or false, "
                f"got {merged['only_worth_contacting']!r}"
            )
        rules[action] = merged
    return rules


def load_channel_costs(costs: ContactCosts | Mapping[str, Any] | None = None) -> dict[str, dict]:
    """The packaged cost per contact by channel with a client's ``costs:`` overrides.

    Parameters
    ----------
    costs
        The client's :class:`~clvreport.config.ContactCosts` (or the same as a
        mapping); keys left out keep the packaged assumption.

    Returns
    -------
    dict
        ``{channel: {"cost_per_contact": float, "only_worth_contacting": bool}}``;
        ``discount`` also has ``share`` and ``redemption``.

    Raises
    ------
    ConfigError
        For an unknown key or a value out of range, naming ``costs.<key>``.

    Examples
    --------
    >>> load_channel_costs({"phone": 8.5})["phone"]["cost_per_contact"]
    8.5
    """
    channels = {name: dict(rule) for name, rule in _packaged_rules()["channels"].items()}
    if costs is None:
        return channels
    if not isinstance(costs, ContactCosts):
        try:
            costs = ContactCosts.model_validate(dict(costs))
        except ValidationError as exc:
            item = exc.errors()[0]
            key = ".".join(str(p) for p in item["loc"])
            message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
            raise ConfigError(
                f"costs.{key}: {message}",
                hint=f"allowed keys: {', '.join(ContactCosts.model_fields)}",
            ) from None
    for name, value in costs.model_dump().items():
        if value is not None:
            channel, field = _COST_KEYS[name]
            channels[channel][field] = float(value)
    return channels


@dataclass(frozen=True)
class PlanRules:
    """Everything that prices the actions: segment → action, action and channel assumptions.

    Build it with :meth:`from_config` (a client's overrides) or :meth:`default`.

    Attributes
    ----------
    segments
        From :func:`load_recommendation_rules`.
    actions
        From :func:`load_action_rules`.
    channels
        From :func:`load_channel_costs`.
    """

    segments: dict[str, dict]
    actions: dict[str, dict]
    channels: dict[str, dict]

    def __post_init__(self) -> None:
        for segment, rule in self.segments.items():
            if rule["action"] not in self.actions:
                raise ConfigError(
                    f"recommendations.{segment}.action: '{rule['action']}' has no assumptions",
                    hint=f"add actions: {{{rule['action']}: {{channel: email, "
                    "success_rate: 0.05}} to client.yml, or use a known action",
                )

    @classmethod
    def default(cls) -> PlanRules:
        """The packaged rules without overrides."""
        return cls(load_recommendation_rules(), load_action_rules(), load_channel_costs())

    @classmethod
    def from_config(cls, config: Any) -> PlanRules:
        """The rules with the overrides of a :class:`~clvreport.config.ClientConfig`."""
        return cls(
            load_recommendation_rules(config.recommendations),
            load_action_rules(config.actions),
            load_channel_costs(config.costs),
        )

    def with_ratios(self, ratios: Mapping[str, float]) -> PlanRules:
        """The rules with each action's success rate and uplift times its learned effect ratio.

        See :func:`clvreport.experiments.learn_rates`; rates stay within 0 and 1.

        Examples
        --------
        >>> PlanRules.default().with_ratios({"reward": 0.5}).actions["reward"]["uplift"]
        0.015
        """
        actions = {}
        for action, rule in self.actions.items():
            ratio = float(ratios.get(action, 1.0))
            actions[action] = {
                **rule,
                "success_rate": min(max(rule["success_rate"] * ratio, 0.0), 1.0),
                "uplift": min(max(rule["uplift"] * ratio, 0.0), 1.0),
            }
        return PlanRules(self.segments, actions, self.channels)

    def only_worth_contacting(self, action: str) -> bool:
        """Whether ``action`` contacts only the customers worth their contact cost."""
        rule = self.actions[action]
        if rule.get("only_worth_contacting") is not None:
            return bool(rule["only_worth_contacting"])
        return bool(self.channels[rule["channel"]].get("only_worth_contacting", False))


def _order_value(customers: pd.DataFrame) -> pd.Series:
    if "expected_spend" in customers:
        value = customers["expected_spend"].astype(float)
    else:
        value = pd.Series(np.nan, index=customers.index)
    if "revenue" in customers and "n_purchases" in customers:
        n = customers["n_purchases"].astype(float).where(lambda s: s > 0)
        value = value.fillna(customers["revenue"].astype(float) / n)
    return value.fillna(0.0).clip(lower=0)


def _subscription_pricing(
    sub: pd.DataFrame, stake: np.ndarray, horizon_stake: np.ndarray, lifetime: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Subscriptions: what an action can keep or win per subscriber, and whom it can move.

    An action changes something only for a running subscriber likely to cancel
    soon (chance to cancel within the next renewals at least
    :data:`~clvreport.customer_groups.AT_RISK_P_CANCEL`, the first period included):
    keeping or growing someone who stays anyway wins nothing, so their value
    at stake and the assumed uplift count for no one else. An ex-subscriber's
    stake is the win-back value (decaying with the time since the
    cancellation), over the lifetime cap when the stakes are.

    Returns
    -------
    tuple of numpy.ndarray
        The stake, the horizon's stake and whether the uplift applies.
    """
    running = sub["active"].fillna(False).astype(bool).to_numpy()
    soon = np.nan_to_num(sub["p_cancel_soon"].to_numpy(dtype=float)) >= AT_RISK_P_CANCEL
    movable = running & soon
    won = np.nan_to_num(sub["winback_value"].to_numpy(dtype=float))
    won_lifetime = (
        np.nan_to_num(sub["winback_value_lifetime"].to_numpy(dtype=float))
        if lifetime and "winback_value_lifetime" in sub
        else won
    )
    stake = np.where(running, np.where(movable, stake, 0.0), won_lifetime)
    horizon_stake = np.where(running, np.where(movable, horizon_stake, 0.0), won)
    return stake, horizon_stake, movable


def customer_actions(customers: pd.DataFrame, rules: PlanRules | None = None) -> pd.DataFrame:
    """Each customer's recommended action with its own value kept and contact cost.

    Parameters
    ----------
    customers
        One row per customer: ``customer_id``, ``segment``, and for the
        economics ``value_at_stake`` and ``clv`` (without them the money columns
        are NaN and ``value_at_stake`` is ``revenue``); the discount channel
        uses ``expected_spend`` (else ``revenue / n_purchases``) as order value.
    rules
        Default :meth:`PlanRules.default`.

    Returns
    -------
    DataFrame
        :data:`CUSTOMER_ACTION_COLUMNS`, one row per customer of a segment with
        an action, in the input order and with the input's index (``segment``,
        ``action`` and ``channel`` are categoricals): ``value_at_stake``,
        ``contact_cost``, ``value_kept``, ``net_return`` (value kept − contact
        cost) and ``contact``: whether the action contacts this customer (their
        value kept exceeds their cost, or the action contacts everyone).

    Examples
    --------
    >>> customers = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["at_risk"] * 2,
    ...                           "value_at_stake": [200.0, 20.0], "clv": [50.0, 5.0]})
    >>> customer_actions(customers)[["value_kept", "contact_cost", "contact"]].values.tolist()
    [[40.0, 10.0, True], [4.0, 10.0, False]]
    """
    rules = rules or PlanRules.default()
    action_of = {segment: rule["action"] for segment, rule in rules.segments.items()}
    # Work on category codes: a million customers take a fraction of a second.
    segment = customers["segment"]
    if isinstance(segment.dtype, pd.CategoricalDtype):
        # the same categories as text, sorted, without a string per customer
        segment = segment.cat.remove_unused_categories()
        names = [str(name) for name in segment.cat.categories]
        segment = segment.cat.rename_categories(names).cat.reorder_categories(sorted(names))
    else:
        segment = segment.astype(str).astype("category")
    seg_codes = segment.cat.codes.to_numpy()
    seg_names = list(segment.cat.categories)
    actions = list(rules.actions)
    action_index = {a: i for i, a in enumerate(actions)}
    per_segment = np.array([action_index.get(action_of.get(s, ""), -1) for s in seg_names] + [-1])
    action_codes = per_segment[seg_codes]  # code -1 (missing segment) takes the last entry
    keep = action_codes >= 0
    winback = None
    runs = running(customers)
    if "winback_value" in customers and runs is not None:
        # subscriptions: an ex-subscriber beyond the win-back horizon (value 0) is not listed
        ended = ~runs.to_numpy()
        winback = np.nan_to_num(customers["winback_value"].to_numpy(dtype=float))
        keep &= ~(ended & (winback <= 0))
    # only the columns used: a copy of every column of millions of customers is not needed
    used = [
        "customer_id",
        "expected_spend",
        "revenue",
        "n_purchases",
        "value_at_stake",
        "value_at_stake_lifetime",
        "clv",
        "active",
        "p_cancel_soon",
        "winback_value",
        "winback_value_lifetime",
    ]
    sub = customers.loc[keep, [c for c in used if c in customers]]
    codes = action_codes[keep]
    channels = list(CHANNELS)
    channel_of = np.array([channels.index(rules.actions[a]["channel"]) for a in actions])
    success = np.array([rules.actions[a]["success_rate"] for a in actions], dtype=float)[codes]
    uplift = np.array([rules.actions[a]["uplift"] for a in actions], dtype=float)[codes]
    only = np.array([rules.only_worth_contacting(a) for a in actions], dtype=bool)[codes]
    channel_codes = channel_of[codes]
    base = np.array([rules.channels[c]["cost_per_contact"] for c in channels], dtype=float)
    discount = rules.channels["discount"]
    voucher = discount.get("share", 0.0) * discount.get("redemption", 0.0)
    cost = base[channel_codes] + np.where(
        channel_codes == channels.index("discount"),
        voucher * _order_value(sub).to_numpy(dtype=float),
        0.0,
    )
    if "value_at_stake" in sub and "clv" in sub:
        horizon_stake = np.nan_to_num(sub["value_at_stake"].to_numpy(dtype=float))
        # keeping a customer is worth what they bring over their remaining lifetime
        lifetime = "value_at_stake_lifetime" in sub
        stake = (
            np.nan_to_num(sub["value_at_stake_lifetime"].to_numpy(dtype=float))
            if lifetime
            else horizon_stake
        )
        clv = np.nan_to_num(sub["clv"].to_numpy(dtype=float))
        if winback is not None and "p_cancel_soon" in sub:
            stake, horizon_stake, movable = _subscription_pricing(
                sub, stake, horizon_stake, lifetime
            )
            clv = np.where(movable, clv, 0.0)  # the uplift moves only who may leave
        added = uplift * clv
        kept = success * stake + added
        kept_horizon = success * horizon_stake + added
    else:
        stake = (
            sub["revenue"].to_numpy(dtype=float) if "revenue" in sub else np.full(len(sub), np.nan)
        )
        kept = np.full(len(sub), np.nan)
        added = np.full(len(sub), np.nan)
        kept_horizon = kept
    contact = ~only | (kept > cost) | np.isnan(kept)
    return pd.DataFrame(
        {
            "customer_id": sub["customer_id"].array,  # not a Python string per customer
            "segment": pd.Categorical.from_codes(seg_codes[keep], seg_names),
            "action": pd.Categorical.from_codes(codes, actions),
            "channel": pd.Categorical.from_codes(channel_codes, channels),
            "value_at_stake": stake,
            "contact_cost": cost,
            "value_kept": kept,
            "value_added": added,
            "net_return": kept - cost,
            "contact": contact,
            "value_kept_horizon": kept_horizon,
        },
        columns=CUSTOMER_ACTION_COLUMNS,
        index=sub.index,
    )


def _cut_words(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters after a whole word, without an ellipsis.

    A single word longer than ``limit`` is cut at ``limit``; punctuation and spaces
    left at the end are dropped.
    """
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    space = cut.rfind(" ")
    cut = cut[:space] if space > 0 else text[:limit]
    return cut.rstrip(" -,;.&") or text[:limit]


def sheet_names(titles: Sequence[str], reserved: Sequence[str] = ()) -> list[str]:
    r"""Valid, unique Excel sheet names for ``titles``.

    The one function that names the action sheets of ``customers.xlsx``: the
    workbook and the report both take the names it returns (``list_name`` of
    :func:`plan_actions`), so the report quotes every sheet exactly as it is
    named. Forbidden characters (``[]:*?/\``) become ``-``; a title longer than
    Excel's 31 characters is cut after its last whole word that fits (no
    ellipsis: the name is one to type or search for); names are made unique
    (Excel compares them case-insensitively) with a number, also against
    ``reserved`` (e.g. the summary sheet's name).

    Examples
    --------
    >>> names = sheet_names(["Bellen: risico/verlies", "A" * 40, "a" * 40])
    >>> names[0], [len(n) for n in names], names[2][-2:]
    ('Bellen- risico-verlies', [22, 31, 31], ' 2')
    >>> sheet_names(["Persoonlijk bedanken en betrekken van trouwe gevers"])
    ['Persoonlijk bedanken en']
    """
    used = {name.casefold() for name in reserved}
    names = []
    for title in titles:
        base = _SHEET_FORBIDDEN.sub("-", str(title)).strip().strip("'") or "Sheet"
        name = _cut_words(base, _SHEET_MAX)
        n = 1
        while name.casefold() in used or name.casefold() == "history":
            n += 1
            suffix = f" {n}"
            name = _cut_words(base, _SHEET_MAX - len(suffix)) + suffix
        used.add(name.casefold())
        names.append(name)
    return names


def _action_title(action: str, language: str | None, audience: str = "customers") -> str:
    """The title an action's sheet is named after: its short ``sheet`` name, else its name."""
    if language is None:
        return action
    from clvreport.i18n import Translator

    t = Translator(language, audience=audience)
    for field in ("sheet", "name"):
        key = f"recommendations.actions.{action}.{field}"
        if t.has(key):
            return t(key)
    return action.replace("_", " ").capitalize()


def plan_actions(
    customers: pd.DataFrame,
    rules: PlanRules | None = None,
    *,
    language: str | None = None,
    reserved_sheets: Sequence[str] = (),
    per_customer: pd.DataFrame | None = None,
    audience: str = "customers",
    rate_sources: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The action plan: per action who, what it costs and what it returns, best first.

    Parameters
    ----------
    customers
        One row per customer, as for :func:`customer_actions`.
    rules
        Default :meth:`PlanRules.default`.
    language
        Report language of ``list_name`` (``None``: the action key). The
        language's summary and newly-at-risk sheet names (``xlsx.summary_sheet``,
        ``xlsx.newly_at_risk_sheet``) are reserved, so the names are those of
        ``customers.xlsx``.
    reserved_sheets
        Further sheet names the lists must not take.
    per_customer
        :func:`customer_actions` of ``customers`` when already computed.
    audience
        Whose words the sheet names use (:attr:`clvreport.audiences.base.Audience.name`).
    rate_sources
        Per action ``"assumed"``, ``"measured"`` or ``"partly_measured"``
        (:func:`clvreport.experiments.learn_rates`); default ``"assumed"``.

    Returns
    -------
    DataFrame
        :data:`PLAN_COLUMNS`, one row per action with customers:

        - ``segments``: tuple of segment codes, largest value at stake first;
          ``segment_customers``: all their customers;
        - ``customers``: the customers contacted (for ``only_worth_contacting``
          channels those whose own value kept exceeds their contact cost);
          ``value_at_stake``, ``cost``, ``value_kept`` and ``net_return`` are
          sums over them;
        - ``cost_per_contact``: cost / customers (for a discount it includes the
          expected voucher cost); ``success_rate`` and ``uplift`` as assumed;
        - ``max_spend_per_customer``: value kept / customers, the most that
          contacting one customer may cost before the action stops paying;
        - ``value_added``: the part of ``value_kept`` that rests on the assumed
          ``uplift`` (extra purchases after the action), the rest is value won
          back from customers who would otherwise leave;
        - ``control``: the customers held back as control group (a ``group``
          column of ``per_customer`` says who: they are not contacted, so not
          counted in ``customers``, cost or value kept);
        - ``rate_source``: whether the success rate and uplift are an
          assumption or were measured on the client's own earlier actions;
        - ``value_kept_horizon``: the part of ``value_kept`` expected within the
          report's horizon (what the next report can measure);
        - ``profitable``: net return > :data:`MIN_RETURN_ON_COST` × cost. When
          it is ``False`` ("niet rendabel"),
          the figures are those of contacting every customer of the segments
          and ``list_name`` is ``None``; without a model (no ``value_at_stake``)
          it is ``<NA>``, the money columns are NaN and ``value_at_stake`` is
          revenue;
        - ``list_name``: the sheet of ``customers.xlsx`` with the action's
          customers, named by :func:`sheet_names` after the action's short
          ``sheet`` name in the message catalogs (else its name).

        Sorted by net return (profitable first), then value at stake, then
        ``priority``.

    Examples
    --------
    >>> customers = pd.DataFrame({
    ...     "customer_id": list("abcd"), "segment": ["at_risk", "at_risk", "lost", "lost"],
    ...     "value_at_stake": [200.0, 20.0, 5.0, 5.0], "clv": [50.0, 5.0, 0.1, 0.1]})
    >>> plan = plan_actions(customers)
    >>> columns = ["action", "customers", "cost", "value_kept", "net_return", "profitable"]
    >>> plan[columns].values.tolist()
    [['win_back_personal', 1, 10.0, 40.0, 30.0, True], \
['low_cost_reactivation', 2, 0.5, 0.3, -0.2, False]]
    """
    rules = rules or PlanRules.default()
    if per_customer is None:
        per_customer = customer_actions(customers, rules)
    reserved = list(reserved_sheets)
    if language is not None:
        from clvreport.i18n import Translator

        t = Translator(language, audience=audience)
        reserved += [t("xlsx.summary_sheet"), t("xlsx.newly_at_risk_sheet")]
    rows = []
    priority_of: dict[str, int] = {}
    for rule in rules.segments.values():
        p = int(rule.get("priority", 9))
        priority_of[rule["action"]] = min(priority_of.get(rule["action"], p), p)
    priced = "value_at_stake" in customers and "clv" in customers
    sources = dict(rate_sources or {})
    for action, group in per_customer.groupby("action", sort=False, observed=True):
        stake_by_segment = group.groupby("segment", sort=False, observed=True)[
            "value_at_stake"
        ].sum()
        segments = tuple(stake_by_segment.sort_values(ascending=False, kind="stable").index)
        segment_customers = len(group)
        held_back = (
            (group["group"] == "control").to_numpy()
            if "group" in group
            else np.zeros(len(group), dtype=bool)
        )
        group = group[~held_back]  # the control group is not contacted
        contacted = group[group["contact"].to_numpy()]
        if priced and (
            contacted.empty
            or contacted["net_return"].sum() <= MIN_RETURN_ON_COST * contacted["contact_cost"].sum()
        ):
            contacted = group  # not profitable: show what contacting everyone would cost
        n = len(contacted)
        cost = float(contacted["contact_cost"].sum())
        kept = float(contacted["value_kept"].sum()) if priced else math.nan
        added = float(contacted["value_added"].sum()) if priced else math.nan
        kept_horizon = (
            float(contacted["value_kept_horizon"].sum())
            if priced and "value_kept_horizon" in contacted
            else math.nan
        )
        net = kept - cost
        rule = rules.actions[action]
        rows.append(
            {
                "action": action,
                "segments": segments,
                "segment_customers": segment_customers,
                "customers": n,
                "value_at_stake": float(contacted["value_at_stake"].sum()),
                "channel": rule["channel"],
                "cost_per_contact": cost / n if n else math.nan,
                "success_rate": rule["success_rate"],
                "uplift": rule["uplift"],
                "cost": cost,
                "value_kept": kept,
                "value_added": added,
                "net_return": net,
                "max_spend_per_customer": kept / n if n else math.nan,
                "profitable": bool(net > MIN_RETURN_ON_COST * cost) if priced else pd.NA,
                "priority": priority_of.get(action, 9),
                "control": int(held_back.sum()),
                "rate_source": sources.get(str(action), "assumed"),
                "value_kept_horizon": kept_horizon,
            }
        )
    plan = pd.DataFrame(rows, columns=PLAN_COLUMNS[:-1])
    plan["profitable"] = plan["profitable"].astype("boolean")
    plan["customers"] = plan["customers"].astype(int)
    plan["segment_customers"] = plan["segment_customers"].astype(int)
    plan["priority"] = plan["priority"].astype(int)
    plan["control"] = plan["control"].astype(int)
    order = plan.assign(_p=plan["profitable"].fillna(True).astype(bool))
    plan = plan.loc[
        order.sort_values(
            ["_p", "net_return", "value_at_stake", "priority"],
            ascending=[False, False, False, True],
            na_position="last",
            kind="stable",
        ).index
    ].reset_index(drop=True)
    listed = plan["profitable"].fillna(True).astype(bool) & (plan["customers"] > 0)
    titles = [_action_title(a, language, audience) for a in plan.loc[listed, "action"]]
    names = sheet_names(titles, reserved=reserved)
    plan["list_name"] = pd.Series([None] * len(plan), dtype=object)
    plan.loc[listed, "list_name"] = pd.Series(names, index=plan.index[listed], dtype=object)
    return plan[PLAN_COLUMNS]


def action_plan(
    analysis: Any,
    language: str | None = None,
    per_customer: pd.DataFrame | None = None,
    *,
    rules: PlanRules | None = None,
    rate_sources: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The action plan of a client's analysis, with the client's overrides.

    Parameters
    ----------
    analysis
        A :class:`~clvreport.analysis.Analysis`.
    language
        Language of the list names (``list_name``, the sheets of
        ``customers.xlsx``); default the client's report language. Pass the
        report's language (``t.language``) so the names match the xlsx.
    per_customer
        :func:`customer_actions` of the same analysis, when already computed
        (with a ``group`` column: the control groups held back).
    rules
        The rules that priced ``per_customer`` (default: the client's, from its config).
    rate_sources
        Whether each action's rates are assumed or measured (see :func:`plan_actions`).

    Returns
    -------
    DataFrame
        See :func:`plan_actions`.

    Examples
    --------
    >>> plan = action_plan(analysis)  # doctest: +SKIP
    >>> plan.loc[0, ["action", "customers", "cost", "net_return"]]  # doctest: +SKIP
    """
    rules = rules or PlanRules.from_config(analysis.config)
    return plan_actions(
        analysis.customers,
        rules,
        language=language or analysis.config.language,
        per_customer=per_customer,
        audience=audience(analysis.config.business).name,
        rate_sources=rate_sources,
    )


def recommend(segments: pd.DataFrame, rules: dict[str, dict]) -> pd.DataFrame:
    """One recommendation per non-empty segment, largest money at stake first.

    Parameters
    ----------
    segments
        Per segment: ``segment``, ``n_customers`` and ``value_at_stake`` (or,
        without a model, ``revenue``).
    rules
        From :func:`load_recommendation_rules`.

    Returns
    -------
    DataFrame
        ``segment, action, customers, value_at_stake, priority``: the money at
        stake is the segment's value at stake, or its revenue when no model
        could be used. For costs and returns use :func:`plan_actions`.

    Examples
    --------
    >>> seg = pd.DataFrame({"segment": ["loyal", "lost"], "n_customers": [10, 5],
    ...                     "value_at_stake": [100.0, 300.0]})
    >>> recommend(seg, load_recommendation_rules())["segment"].tolist()
    ['lost', 'loyal']
    """
    stake = "value_at_stake" if "value_at_stake" in segments else "revenue"
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
    ...                     "value_at_stake": [300.0, 20.0, 200.0]})
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
