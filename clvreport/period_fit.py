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
    """

    status: str
    reasons: tuple[str, ...]
    period: str
    n_customers: int = 0
    n_repeat_buyers: int = 0
    selection: str = "fixed"
    validation: None = None
    candidates: dict[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> str | None:
        """The main reason code, or ``None``."""
        return self.reasons[0] if self.reasons else None

    @property
    def time_unit(self) -> str:
        """The model's time unit (``years``, ``quarters``, ``months``)."""
        return PERIOD_UNIT[self.period]

    def _dict(self, business: str, model_name: str, choice_note: str | None) -> dict[str, Any]:
        """The keys of ``model.json`` every period model writes (a subclass adds its models)."""
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
            "validation": None,
            "candidates": {},
            "n_customers": self.n_customers,
            "n_repeat_buyers": self.n_repeat_buyers,
        }

    @staticmethod
    def _fields(data: Mapping[str, Any], period: str) -> dict[str, Any]:
        """The common constructor arguments from ``model.json`` (``period`` when it has none)."""
        return {
            "status": data["status"],
            "reasons": tuple(data.get("reasons") or ()),
            "period": data.get("period", period),
            "n_customers": int(data.get("n_customers") or 0),
            "n_repeat_buyers": int(data.get("n_repeat_buyers") or 0),
        }
