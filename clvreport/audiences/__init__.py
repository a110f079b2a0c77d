"""The audiences of the report, keyed by ``business`` (the pattern of :mod:`clvreport.render`).

:func:`audience` returns the registered :class:`~clvreport.audiences.base.Audience`
of a client's ``business``: ``transactions`` (shop customers,
:mod:`~clvreport.audiences.shop`), ``discrete`` (donors,
:mod:`~clvreport.audiences.donors`) or ``subscription`` (subscribers,
:mod:`~clvreport.audiences.subscribers`). The pipeline, the comparison, the
sensitivity table, ``clvreport fit`` and the report sections ask it instead of
branching on the business; no audience branch lives outside this package.

The audiences are registered by module and class name and imported on first
use, so that the modules they build on (:mod:`clvreport.analysis`,
:mod:`clvreport.customer_groups` ...) may import this package.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from clvreport.audiences.base import Audience, Fit, ModelStep, running

if TYPE_CHECKING:
    import datetime as dt

    from clvreport.config import ClientConfig
    from clvreport.validate import ValidationResult

__all__ = [
    "Audience",
    "Fit",
    "ModelStep",
    "audience",
    "businesses",
    "register",
    "running",
    "validation_checks",
]

_REGISTERED: dict[str, str] = {}
_LOADED: dict[str, Audience] = {}


def register(business: str, target: str) -> None:
    """Register the audience of ``business`` as ``"module:Class"`` (imported on first use).

    Examples
    --------
    >>> register("transactions", "clvreport.audiences.shop:ShopAudience")
    """
    _REGISTERED[business] = target
    _LOADED.pop(business, None)


register("transactions", "clvreport.audiences.shop:ShopAudience")
register("discrete", "clvreport.audiences.donors:DonorAudience")
register("subscription", "clvreport.audiences.subscribers:SubscriberAudience")


def businesses() -> tuple[str, ...]:
    """The registered businesses.

    Examples
    --------
    >>> businesses()
    ('transactions', 'discrete', 'subscription')
    """
    return tuple(_REGISTERED)


def audience(business: str | None) -> Audience:
    """The audience of ``business`` (``None``: ``transactions``, as ``client.yml``'s default).

    Raises
    ------
    KeyError
        For a business no audience is registered for.

    Examples
    --------
    >>> audience("discrete").name, audience(None).business
    ('donors', 'transactions')
    """
    key = business or "transactions"
    found = _LOADED.get(key)
    if found is None:
        if key not in _REGISTERED:
            raise KeyError(f"no audience for business '{key}': one of {', '.join(_REGISTERED)}")
        module, _, name = _REGISTERED[key].partition(":")
        found = _LOADED[key] = getattr(importlib.import_module(module), name)()
    return found


def validation_checks(
    config: ClientConfig, client_dir: Path, as_of: dt.date | None = None
) -> ValidationResult:
    """What ``clvreport validate`` says of the client's data (the one dispatch point).

    Each audience reads its data as its report does and says what the report
    will show (:meth:`~clvreport.audiences.base.Audience.validation_checks`).

    Raises
    ------
    ClvReportError
        A problem that stops the report (as the report would raise it).
    """
    return audience(config.business).validation_checks(config, client_dir, as_of)
