"""RFM scores and named customer segments, with the segment rules as data.

Every customer gets three scores from 1 (worst) to ``bins`` (best, 5 by
default) by quantiles of the customer base — **r**ecency (days since the last
purchase; fewer is better), **f**requency (number of purchases) and
**m**onetary value (net revenue) — plus ``fm``, the mean of ``f`` and ``m``
rounded half up. The rules in ``clvreport/rules/segments.yml`` map score
ranges to eleven named segments (Champions, Loyal, Potential loyalists, New,
Promising, Need attention, About to sleep, At risk, Can't lose them,
Hibernating, Lost), each with a Dutch and English label and a one-line
description. A client overrides them in ``client.yml`` under ``segments:``
(deep-merged; ``null`` removes a segment). The loader checks that the rules
split every possible combination of scores into exactly one segment, so every
customer gets exactly one segment.

Scoring ties
------------
Customers with the same value get the same score: the score of the lowest
position their group occupies. With ``k`` customers strictly worse than a
customer among ``n``, the score is ``1 + floor(bins · k / n)``. So all
one-time buyers share the lowest frequency score, whatever their order in the
data, and the scores never depend on row order.

References
----------
.. [1] Hughes, A. M. (1994). Strategic Database Marketing. Probus (RFM scoring).
.. [2] Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using
   iso-value curves for customer base analysis. Journal of Marketing Research,
   42(4), 415-430.
"""

from __future__ import annotations

import copy
import difflib
import functools
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from clvreport.errors import ConfigError

__all__ = [
    "SCORE_NAMES",
    "SegmentRule",
    "SegmentRules",
    "assign_segments",
    "default_segment_rules",
    "load_segment_rules",
    "quantile_scores",
    "rfm_scores",
    "rfm_segments",
    "segment_summary",
]

SCORE_NAMES = ("r", "f", "m", "fm")
"""The scores a rule can constrain."""

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_CONFIG_KEY = "segments"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Texts(_Strict):
    """A text in every report language."""

    nl: str = Field(min_length=1, description="Dutch text.")
    en: str = Field(min_length=1, description="English text.")


class SegmentRule(_Strict):
    """One segment: inclusive score ranges and its labels.

    A score the rule does not mention may take any value.
    """

    r: tuple[int, int] | None = Field(None, description="Recency score range [low, high].")
    f: tuple[int, int] | None = Field(None, description="Frequency score range [low, high].")
    m: tuple[int, int] | None = Field(None, description="Monetary score range [low, high].")
    fm: tuple[int, int] | None = Field(
        None, description="Range of (f + m) / 2 rounded half up, [low, high]."
    )
    label: Texts = Field(description="Segment name per language.")
    description: Texts = Field(description="One plain sentence per language.")

    @field_validator("r", "f", "m", "fm")
    @classmethod
    def _ordered(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(f"range [{value[0]}, {value[1]}] has its low end above its high end")
        return value

    def ranges(self) -> dict[str, tuple[int, int]]:
        """The constrained scores and their ranges."""
        return {name: getattr(self, name) for name in SCORE_NAMES if getattr(self, name)}


class SegmentRules(_Strict):
    """The validated segment rules: a partition of all score combinations.

    Attributes
    ----------
    bins
        Number of score levels (5 = quintiles).
    rules
        Segment code → rule, in report order.

    Examples
    --------
    >>> rules = default_segment_rules()
    >>> rules.bins, len(rules.codes), rules.labels("nl")["champions"]
    (5, 11, 'Topklanten')
    """

    bins: int = Field(5, ge=2, le=10, description="Score levels; 5 gives quintiles.")
    rules: dict[str, SegmentRule] = Field(description="Segment code → rule, in report order.")

    @field_validator("rules", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        if not value:
            raise ValueError("define at least one segment")
        for code in value:
            if not _CODE.match(str(code)):
                raise ValueError(
                    f"segment code '{code}' must be lower-case letters, digits and '_'"
                )
        return value

    @model_validator(mode="after")
    def _partition(self) -> SegmentRules:
        problems = []
        for code, rule in self.rules.items():
            for name, (low, high) in rule.ranges().items():
                if low < 1 or high > self.bins:
                    problems.append(
                        f"rules.{code}.{name}: range [{low}, {high}] must lie within "
                        f"1..{self.bins} (bins: {self.bins})"
                    )
        if problems:
            raise ValueError("\n".join(problems))
        grid = _score_grid(self.bins)
        matches = np.stack([_rule_mask(rule, grid) for rule in self.rules.values()], axis=1)
        codes = list(self.rules)
        gaps = np.flatnonzero(matches.sum(axis=1) == 0)
        overlaps = np.flatnonzero(matches.sum(axis=1) > 1)
        if gaps.size:
            examples = "; ".join(_describe(grid, i) for i in gaps[:4])
            problems.append(
                f"rules: {gaps.size} score combination(s) belong to no segment, e.g. "
                f"{examples}; widen a rule to cover them"
            )
        if overlaps.size:
            examples = "; ".join(
                f"{_describe(grid, i)} in "
                + " and ".join(f"'{codes[j]}'" for j in np.flatnonzero(matches[i]))
                for i in overlaps[:4]
            )
            problems.append(
                f"rules: {overlaps.size} score combination(s) belong to more than one "
                f"segment, e.g. {examples}; narrow one of the rules"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def codes(self) -> list[str]:
        """Segment codes in report order."""
        return list(self.rules)

    def labels(self, language: Literal["nl", "en"]) -> dict[str, str]:
        """Segment code → label in ``language``."""
        return {code: getattr(rule.label, language) for code, rule in self.rules.items()}

    def descriptions(self, language: Literal["nl", "en"]) -> dict[str, str]:
        """Segment code → one-line description in ``language``."""
        return {code: getattr(rule.description, language) for code, rule in self.rules.items()}

    def lookup(self) -> pd.DataFrame:
        """Every score combination and its segment.

        Returns
        -------
        pandas.DataFrame
            Columns ``r``, ``f``, ``m``, ``fm`` and ``segment``; ``bins³`` rows.
        """
        grid = _score_grid(self.bins)
        out = pd.DataFrame(grid, columns=list(SCORE_NAMES))
        out["segment"] = np.asarray(self.codes, dtype=object)[self._grid_codes(grid)]
        return out

    def _grid_codes(self, grid: np.ndarray) -> np.ndarray:
        matches = np.stack([_rule_mask(rule, grid) for rule in self.rules.values()], axis=1)
        return matches.argmax(axis=1)


def _fm(f: np.ndarray, m: np.ndarray) -> np.ndarray:
    # (f + m) / 2 rounded half up, on integer scores.
    return (f + m + 1) // 2


def _score_grid(bins: int) -> np.ndarray:
    levels = range(1, bins + 1)
    rfm = np.array(list(itertools.product(levels, levels, levels)), dtype="int64")
    return np.column_stack([rfm, _fm(rfm[:, 1], rfm[:, 2])])


def _rule_mask(rule: SegmentRule, scores: np.ndarray) -> np.ndarray:
    mask = np.ones(len(scores), dtype=bool)
    for name, (low, high) in rule.ranges().items():
        column = scores[:, SCORE_NAMES.index(name)]
        mask &= (column >= low) & (column <= high)
    return mask


def _describe(grid: np.ndarray, row: int) -> str:
    r, f, m, fm = grid[row]
    return f"r={r}, f={f}, m={m} (fm={fm})"


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@functools.cache
def _default_document(audience: str = "customers") -> dict[str, Any]:
    rules = resources.files("clvreport").joinpath("rules")
    document = yaml.safe_load(rules.joinpath("segments.yml").read_text(encoding="utf-8"))
    words = rules.joinpath(audience, "segments.yml")
    if audience != "customers" and words.is_file():
        # donors and subscribers: the same rules, with their own labels and descriptions
        document = _deep_merge(document, yaml.safe_load(words.read_text(encoding="utf-8")) or {})
    return document


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    if len(loc) <= 1:
        return sorted(SegmentRules.model_fields)
    if loc[0] == "rules" and len(loc) == 3:
        return sorted(SegmentRule.model_fields)
    if loc[0] == "rules" and len(loc) == 4 and loc[2] in ("label", "description"):
        return sorted(Texts.model_fields)
    return []


def _config_error(
    error: ValidationError, document: Mapping[str, Any], path: Path | str | None
) -> ConfigError:
    lines = []
    for item in error.errors():
        loc = tuple(part for part in item["loc"] if not isinstance(part, int))
        key = ".".join([_CONFIG_KEY, *(str(part) for part in loc)])
        message = item["msg"].removeprefix("Value error, ")
        if not loc and item["type"] == "value_error":
            # Whole-document checks name their own keys: "rules.<code>.<score>: ...".
            lines.extend(f"  - {_CONFIG_KEY}.{line}" for line in message.splitlines())
            continue
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc)
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            message = "unknown key" + (f"; did you mean '{close[0]}'?" if close else ".")
            if allowed:
                message += f" Allowed here: {', '.join(allowed)}."
            if len(loc) == 1 and loc[0] in document.get("rules", {}):
                message += f" Segment overrides go under {_CONFIG_KEY}.rules.{loc[0]}."
        elif item["type"] == "missing":
            message = "required key is missing"
        lines.append(f"  - {key}: {message}")
    return ConfigError(
        "invalid segment rules:\n" + "\n".join(lines),
        path=path,
        hint="correct the keys listed above; clvreport/rules/segments.yml shows every key "
        "and the default rules",
    )


def load_segment_rules(
    overrides: Mapping[str, Any] | None = None,
    *,
    path: Path | str | None = None,
    audience: str = "customers",
) -> SegmentRules:
    """The default segment rules, deep-merged with a client's overrides, validated.

    Parameters
    ----------
    overrides
        The ``segments:`` mapping of ``client.yml`` (``ClientConfig.segments``):
        ``bins`` and/or ``rules.<code>.<key>``. Mappings merge key by key, other
        values (ranges, texts) replace; ``null`` removes a key or a whole segment.
    path
        The file the overrides came from, named in error messages.
    audience
        ``"donors"`` or ``"subscribers"``: start from the labels and
        descriptions of ``clvreport/rules/<audience>/segments.yml`` (same rules).

    Returns
    -------
    SegmentRules

    Raises
    ------
    ConfigError
        If the merged rules are invalid: an unknown or missing key, a range
        outside ``1..bins``, or score combinations that belong to no segment or
        to two. The message names the key (``segments.rules.<code>.<key>``).

    Examples
    --------
    >>> rules = load_segment_rules({"rules": {"champions": {"label": {"nl": "Topklanten"}}}})
    >>> rules.labels("nl")["champions"], rules.labels("en")["champions"]
    ('Topklanten', 'Champions')
    >>> load_segment_rules({"rules": {"lost": None}}, path="client.yml")
    Traceback (most recent call last):
    ...
    clvreport.errors.ConfigError: client.yml: invalid segment rules:
      - segments.rules: 6 score combination(s) belong to no segment, e.g. r=1, f=1, m=1 ...
    """
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigError(
            f"'{_CONFIG_KEY}' must be a mapping of keys (bins:, rules:), "
            f"not {type(overrides).__name__}",
            path=path,
        )
    document = _deep_merge(_default_document(audience), overrides or {})
    if not isinstance(document.get("rules", {}), Mapping):
        raise ConfigError(
            f"'{_CONFIG_KEY}.rules' must be a mapping of segment codes to rules", path=path
        )
    try:
        return SegmentRules.model_validate(document)
    except ValidationError as exc:
        raise _config_error(exc, document, path) from None


def default_segment_rules() -> SegmentRules:
    """The packaged rules of ``clvreport/rules/segments.yml``, without overrides.

    Returns
    -------
    SegmentRules

    Examples
    --------
    >>> default_segment_rules().labels("en")["champions"]
    'Champions'
    """
    return load_segment_rules(None)


def quantile_scores(
    values: pd.Series | np.ndarray | Sequence[float],
    bins: int = 5,
    *,
    higher_is_better: bool = True,
) -> np.ndarray:
    """Scores ``1 … bins`` by quantile, ties sharing the score of their lowest position.

    Parameters
    ----------
    values
        One value per customer, no NaN.
    bins
        Number of score levels (5 = quintiles).
    higher_is_better
        Whether a higher value earns a higher score (``False`` for recency in days).

    Returns
    -------
    numpy.ndarray
        Integer scores: ``1 + floor(bins · k / n)`` with ``k`` the number of
        customers with a strictly worse value.

    Examples
    --------
    >>> quantile_scores([1, 1, 1, 1, 1, 1, 2, 2, 3, 4]).tolist()
    [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    >>> quantile_scores([10, 40, 20, 30], bins=2, higher_is_better=False).tolist()
    [2, 1, 2, 1]
    """
    if bins < 2:
        raise ValueError(f"bins must be at least 2, not {bins}")
    array = np.asarray(values, dtype="float64")
    if np.isnan(array).any():
        raise ValueError("values contain NaN; fill or drop those customers first")
    if array.size == 0:
        return np.empty(0, dtype="int64")
    oriented = array if higher_is_better else -array
    # k per customer from the sorted distinct values and their counts (pandas' rank with
    # method "min", minus one, without ranking every customer: recency and frequency
    # take few values)
    codes, _ = pd.factorize(oriented, sort=True)
    counts = np.bincount(codes)
    worse = (np.cumsum(counts) - counts)[codes]
    return 1 + (bins * worse) // array.size


def rfm_scores(
    customers: pd.DataFrame,
    *,
    bins: int = 5,
    recency_col: str = "recency_days",
    frequency_col: str = "n_purchases",
    monetary_col: str = "revenue",
) -> pd.DataFrame:
    """Recency, frequency and monetary scores per customer.

    Parameters
    ----------
    customers
        One row per customer, e.g. :func:`clvreport.metrics.customer_metrics`.
    bins
        Number of score levels (5 = quintiles).
    recency_col
        Days since the last purchase (fewer is better).
    frequency_col
        Number of purchases.
    monetary_col
        Net revenue (or another value per customer).

    Returns
    -------
    pandas.DataFrame
        Aligned with ``customers``; int columns ``r``, ``f``, ``m`` (1 … bins,
        higher is better) and ``fm`` (``(f + m) / 2`` rounded half up).

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"recency_days": [5, 300], "n_purchases": [4, 1],
    ...                           "revenue": [400.0, 20.0]})
    >>> rfm_scores(customers, bins=2).to_dict("list")
    {'r': [2, 1], 'f': [2, 1], 'm': [2, 1], 'fm': [2, 1]}
    """
    r = quantile_scores(customers[recency_col], bins, higher_is_better=False)
    f = quantile_scores(customers[frequency_col], bins)
    m = quantile_scores(customers[monetary_col], bins)
    return pd.DataFrame({"r": r, "f": f, "m": m, "fm": _fm(f, m)}, index=customers.index)


def assign_segments(scores: pd.DataFrame, rules: SegmentRules | None = None) -> pd.Series:
    """The segment of each customer from their scores.

    Parameters
    ----------
    scores
        Columns ``r``, ``f``, ``m`` as from :func:`rfm_scores` with ``bins=rules.bins``.
    rules
        Validated rules; the packaged defaults when ``None``.

    Returns
    -------
    pandas.Series
        Categorical named ``segment`` holding segment codes (categories in rule
        order), aligned with ``scores``. Every customer has exactly one segment.

    Raises
    ------
    ValueError
        If a score lies outside ``1 … rules.bins``.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"r": [5, 1], "f": [5, 1], "m": [5, 1]})
    >>> assign_segments(scores).tolist()
    ['champions', 'lost']
    """
    rules = rules if rules is not None else default_segment_rules()
    bins = rules.bins
    r, f, m = (scores[name].to_numpy(dtype="int64") for name in ("r", "f", "m"))
    for name, values in (("r", r), ("f", f), ("m", m)):
        if values.size and (values.min() < 1 or values.max() > bins):
            raise ValueError(f"score '{name}' must lie in 1..{bins} (the rules' bins)")
    grid_codes = rules._grid_codes(_score_grid(bins))
    flat = ((r - 1) * bins + (f - 1)) * bins + (m - 1)
    categories = pd.CategoricalDtype(rules.codes, ordered=True)
    return pd.Series(
        pd.Categorical.from_codes(grid_codes[flat], dtype=categories),
        index=scores.index,
        name="segment",
    )


def rfm_segments(
    customers: pd.DataFrame,
    rules: SegmentRules | None = None,
    *,
    recency_col: str = "recency_days",
    frequency_col: str = "n_purchases",
    monetary_col: str = "revenue",
    active: pd.Series | None = None,
) -> pd.DataFrame:
    """Scores and segment added to a per-customer table.

    Parameters
    ----------
    customers
        One row per customer, e.g. :func:`clvreport.metrics.customer_metrics`.
    rules
        Validated rules (:func:`load_segment_rules`); the defaults when ``None``.
    recency_col, frequency_col, monetary_col
        Columns to score, as in :func:`rfm_scores`.
    active
        For subscriptions: whether each customer's subscription is running
        (aligned with ``customers``). A running one then scores the top
        recency score (every running subscription paid at its latest renewal:
        a few days' difference in the renewal date says nothing, so identical
        subscribers share a segment) and an ended one at most 2, so cancelled
        subscribers never share a segment with running ones (in the default
        grid they land in ``at_risk``, ``cant_lose_them``, ``hibernating`` or
        ``lost``; running ones in ``champions``, ``potential_loyalists`` or
        ``new`` by how long they stayed and paid).

    Returns
    -------
    pandas.DataFrame
        ``customers`` with the columns ``r``, ``f``, ``m``, ``fm`` and ``segment`` added.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"recency_days": [5, 50, 100, 200, 300],
    ...                           "n_purchases": [6, 4, 3, 2, 1],
    ...                           "revenue": [600.0, 400.0, 300.0, 200.0, 100.0]})
    >>> rfm_segments(customers)["segment"].tolist()
    ['champions', 'loyal', 'need_attention', 'hibernating', 'lost']
    """
    rules = rules if rules is not None else default_segment_rules()
    scores = rfm_scores(
        customers,
        bins=rules.bins,
        recency_col=recency_col,
        frequency_col=frequency_col,
        monetary_col=monetary_col,
    )
    if active is not None:
        running = np.asarray(active, dtype=bool)
        middle = (rules.bins + 1) // 2
        r = scores["r"].to_numpy()
        scores["r"] = np.where(running, rules.bins, np.minimum(r, middle - 1))
    return pd.concat([customers, scores, assign_segments(scores, rules)], axis=1)


def _as_codes(segment: pd.Series, codes: list[str]) -> pd.Categorical:
    """The segments as text, categories ``codes`` in their order (others empty).

    A categorical column is mapped through its few categories, not a string per
    customer (17 million strings took seconds).
    """
    if isinstance(segment.dtype, pd.CategoricalDtype):
        names = [str(c) for c in segment.cat.categories]
        if len(set(names)) == len(names):
            renamed = segment.cat.rename_categories(names)
            return pd.Categorical(renamed).set_categories(codes)
    # (values outside ``codes`` become empty; pandas will refuse them in the constructor)
    return pd.Categorical(segment.astype(str)).set_categories(codes)


def segment_summary(
    customers: pd.DataFrame,
    rules: SegmentRules | None = None,
    *,
    value_cols: Sequence[str] = ("revenue",),
) -> pd.DataFrame:
    """Size and value of every segment, in rule order (empty segments included).

    Parameters
    ----------
    customers
        Per-customer table with a ``segment`` column (from :func:`rfm_segments`).
    rules
        The rules used; the defaults when ``None``.
    value_cols
        Columns to total per segment (e.g. ``"revenue"``, a predicted CLV).

    Returns
    -------
    pandas.DataFrame
        Columns ``segment`` (code), ``n_customers``, ``customer_share``, and for
        every value column ``<col>`` (sum) and ``<col>_share`` (of the total).
        Shares sum to 1.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = rfm_segments(pd.DataFrame({"recency_days": [5, 50, 100, 200, 300],
    ...                                        "n_purchases": [6, 4, 3, 2, 1],
    ...                                        "revenue": [900.0, 50.0, 25.0, 15.0, 10.0]}))
    >>> s = segment_summary(customers).set_index("segment")
    >>> s.loc[["champions", "lost", "new"], ["n_customers", "revenue_share"]].to_dict("list")
    {'n_customers': [1, 1, 0], 'revenue_share': [0.9, 0.01, 0.0]}
    """
    rules = rules if rules is not None else default_segment_rules()
    segment = _as_codes(customers["segment"], rules.codes)
    grouped = customers.groupby(segment, observed=False)
    out = pd.DataFrame({"n_customers": grouped.size().astype("int64")})
    n = len(customers)
    out["customer_share"] = out["n_customers"] / n if n else math.nan
    for col in value_cols:
        sums = grouped[col].sum().astype("float64")
        total = float(sums.sum())
        out[col] = sums
        out[f"{col}_share"] = sums / total if total else math.nan
    out.index = pd.Index(rules.codes, name="segment")
    return out.reset_index()
