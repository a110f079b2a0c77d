"""Header names and system presets, from the package's ``presets.yml``.

``clvreport init`` places an export's columns by their header names
(:data:`COLUMN_NAMES`, Dutch and English) and recognises the exports of
shop, bookkeeping and donor systems (:func:`detect_source`: Shopify,
WooCommerce, Magento, Lightspeed, Exact Online, Moneybird, e-Boekhouden, a
donor administration) by their headers. A recognised system's preset places
its columns (:func:`preset_columns`) and sets the data policies its exports
need (:func:`preset_policies`: statuses that are not purchases, line items
merged per order, guest ids, credit notes, one-off gifts), which
``data.source`` in ``client.yml`` applies.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "PRESETS_FILE",
    "Preset",
    "column_names",
    "detect_source",
    "dutch_names",
    "normalise_name",
    "preset",
    "preset_columns",
    "preset_policies",
]

PRESETS_FILE = Path(__file__).with_name("presets.yml")
"""The data file holding the header names and the presets."""


def normalise_name(name: str) -> str:
    """A header name compared case-, accent-, space- and punctuation-insensitively.

    Spaces, ``_``, ``-``, ``.``, ``/`` and brackets are ignored, so ``Email (Billing)``
    is ``emailbilling``.

    Examples
    --------
    >>> normalise_name(" Klant-ID "), normalise_name("Order_Date")
    ('klantid', 'orderdate')
    >>> normalise_name("Financiële Status"), normalise_name("Email (Billing)")
    ('financielestatus', 'emailbilling')
    """
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return re.sub(r"[\s_\-./()\[\]]+", "", plain).casefold()


class Preset:
    """One shop system's preset.

    Attributes
    ----------
    key
        The ``data.source`` value, e.g. ``"shopify"``.
    label
        What the export is called, e.g. ``"Shopify orders export"``.
    signature
        Groups of normalised header names; an export with a column of every
        group is this system's.
    columns
        Field → normalised header names, best first.
    policies
        The ``data.policies`` the preset sets.
    notes
        Field → the comment ``init`` writes next to its column (a choice to see).
    business
        The client's ``business`` for this system's exports (``"discrete"`` for
        donations), or ``None`` for the default.
    """

    def __init__(self, key: str, raw: dict[str, Any]) -> None:
        self.key = key
        self.label = str(raw.get("label", key))
        self.signature = tuple(
            frozenset(normalise_name(str(n)) for n in group) for group in raw["signature"]
        )
        self.columns = _names(raw["columns"])
        self.policies: dict[str, Any] = dict(raw.get("policies") or {})
        self.notes = {str(k): " ".join(str(v).split()) for k, v in (raw.get("notes") or {}).items()}
        self.business: str | None = raw.get("business")

    def matches(self, names: Sequence[str]) -> bool:
        """Whether a header with these column names is this system's export."""
        present = {normalise_name(n) for n in names}
        return all(group & present for group in self.signature)


def _names(raw: dict[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    return {
        field: tuple(dict.fromkeys(normalise_name(str(n)) for n in names))
        for field, names in raw.items()
    }


@cache
def _data() -> dict[str, Any]:
    return yaml.safe_load(PRESETS_FILE.read_text(encoding="utf-8"))


def column_names() -> dict[str, tuple[str, ...]]:
    """Field → normalised header names that place a column of any export, best first.

    Examples
    --------
    >>> column_names()["customer_id"][:2]
    ('klantnummer', 'klantid')
    """
    return _names(_data()["columns"])


def dutch_names() -> frozenset[str]:
    """The normalised header names of :func:`column_names` that are Dutch."""
    return frozenset(normalise_name(str(n)) for n in _data()["dutch"])


@cache
def preset(key: str) -> Preset | None:
    """The preset of a shop system by its ``data.source`` key, or ``None``."""
    raw = (_data().get("presets") or {}).get(key)
    return Preset(key, raw) if raw else None


def _presets() -> list[Preset]:
    return [p for key in _data().get("presets") or {} if (p := preset(key)) is not None]


def detect_source(names: Sequence[str]) -> str | None:
    """The shop system whose order export has these column names, or ``None``.

    Examples
    --------
    >>> detect_source(["Name", "Email", "Financial Status", "Created at", "Lineitem name"])
    'shopify'
    >>> detect_source(["Order ID", "Order Status", "Customer User ID", "Billing Email"])
    'woocommerce'
    >>> detect_source(["Factuurnummer", "Relatiecode", "Datum", "Totaal excl. BTW"])
    'eboekhouden'
    >>> detect_source(["klant", "datum", "bedrag"]) is None
    True
    """
    for candidate in _presets():
        if candidate.matches(names):
            return candidate.key
    return None


def preset_columns(key: str, names: Sequence[str]) -> dict[str, str]:
    """Field → column of ``names`` placed by the preset of ``key`` (each column used once).

    Examples
    --------
    >>> preset_columns("woocommerce", ["Order ID", "Customer User ID", "Billing Email"])
    {'customer_id': 'Customer User ID', 'customer_fallback': 'Billing Email', 'order_id': 'Order ID'}
    """  # noqa: E501
    found = preset(key)
    if found is None:
        return {}
    by_norm: dict[str, str] = {}
    for name in names:
        by_norm.setdefault(normalise_name(name), name)
    used: set[str] = set()
    placed: dict[str, str] = {}
    for field, candidates in found.columns.items():
        for candidate in candidates:
            column = by_norm.get(candidate)
            if column is not None and column not in used:
                placed[field] = column
                used.add(column)
                break
    return placed


def preset_policies(key: str) -> dict[str, Any] | None:
    """The ``data.policies`` the preset of ``key`` sets, or ``None`` for an unknown key.

    Examples
    --------
    >>> preset_policies("shopify")["order_lines"]
    'order_total'
    """
    found = preset(key)
    return dict(found.policies) if found is not None else None
