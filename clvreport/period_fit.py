"""What the donor and the subscription fits share: the part of a model fit the report reads.

:class:`~clvreport.donors.DonorFit` (BG/BB) and
:class:`~clvreport.subscribers.SubscriberFit` (sBG per plan) stand where a
:class:`~clvreport.models.fitting.ClvModelFit` stands for a shop: the report
reads their status and reason, their time unit and the common keys of
``model.json``. :class:`PeriodModelFit` holds that once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clvreport.models.units import PERIOD_UNIT
from clvreport.models.validation import HoldoutComparison
from clvreport.period_holdout import PeriodHoldout

__all__ = ["PeriodModelFit"]


@dataclass(kw_only=True)
class PeriodModelFit:
    """Status, reasons and period of a model on whole periods (giving years, renewals).

    Attributes
    ----------
    status, reasons
        ``"ok"``, ``"degraded"`` or ``"failed"``, and why.
    period
        Length of one period (``year``, ``quarter``, ``month``).
    n_customers, n_repeat_buyers
        Donors or subscribers, and those who gave again or renewed.
    validation
        The holdout comparison with its verdict, as for the shop models
        (``None`` when not checked).
    holdout
        The whole holdout check (range, interval check) or why there is none
        (``None``: not attempted).
    spend_fallback
        The amount used without a spend model (``None``: not needed).
    spend_caps, season, calibration_season, search
        Always ``None``: whole periods have no capped exceptional orders and
        no seasonal time (they are there because every fit has them,
        :class:`~clvreport.audiences.base.Fit`).
    """

    status: str
    reasons: tuple[str, ...]
    period: str
    n_customers: int = 0
    n_repeat_buyers: int = 0
    selection: str = "fixed"
    validation: HoldoutComparison | None = None
    holdout: PeriodHoldout | None = None
    candidates: dict[str, Any] = field(default_factory=dict)
    spend_fallback: float | None = None
    spend_caps: None = None
    season: None = None
    calibration_season: None = None
    search: None = None

    @property
    def reason(self) -> str | None:
        """The main reason code, or ``None``."""
        return self.reasons[0] if self.reasons else None

    @property
    def time_unit(self) -> str:
        """The model's time unit (``years``, ``quarters``, ``months``)."""
        return PERIOD_UNIT[self.period]

    def check(self, holdout: PeriodHoldout) -> None:
        """Record a holdout check: ``validation`` is its comparison (``None``: not checked)."""
        self.holdout = holdout
        self.validation = holdout.comparison

    def _dict(self, business: str, model_name: str, choice_note: str | None) -> dict[str, Any]:
        """The keys of ``model.json`` every period model writes (a subclass adds its models)."""
        holdout = self.holdout
        return {
            "business": business,
            "status": self.status,
            "reason": self.reason,
            "reasons": list(self.reasons),
            "time_unit": self.time_unit,
            "period": self.period,
            "model": model_name,
            "selection": self.selection,
            "choice_note": choice_note,
            "validation": None if holdout is None else holdout.to_dict(),
            "validation_note": None if holdout is None else holdout.reason,
            "candidates": {},
            "n_customers": self.n_customers,
            "n_repeat_buyers": self.n_repeat_buyers,
        }

    @staticmethod
    def _fields(data: Mapping[str, Any], period: str) -> dict[str, Any]:
        """The common constructor arguments from ``model.json`` (``period`` when it has none)."""
        validation = data.get("validation")
        return {
            "validation": None if validation is None else HoldoutComparison.from_dict(validation),
            "status": data["status"],
            "reasons": tuple(data.get("reasons") or ()),
            "period": data.get("period", period),
            "n_customers": int(data.get("n_customers") or 0),
            "n_repeat_buyers": int(data.get("n_repeat_buyers") or 0),
        }
