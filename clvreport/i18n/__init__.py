"""Report language: message catalogs and locale-aware number formatting.

All report text lives in the YAML catalogs next to this module (``nl.yml``,
``en.yml``); code refers to messages by dotted key. A report for donors or
subscribers speaks of them instead of customers: its *audience* catalog
(``donors/nl.yml`` ...) replaces the messages whose words differ, and only
keys the main catalog has (see :data:`AUDIENCES`). Numbers, money, percentages
and dates are formatted with Babel for the report language (nl: ``€ 1.234,56``
and ``12,5%``; en: ``€1,234.56`` and ``12.5%``).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from importlib import resources
from typing import Any

import yaml
from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.numbers import (
    format_currency,
    format_decimal,
    format_percent,
    get_currency_precision,
)

__all__ = [
    "AUDIENCES",
    "LANGUAGES",
    "MissingMessageError",
    "Translator",
    "catalog_keys",
    "translator",
]

LANGUAGES = ("nl", "en")
AUDIENCES = ("customers", "donors", "subscribers")
"""Who a report speaks of: customers (the main catalogs), donors or subscribers."""
_LOCALES = {"nl": "nl_NL", "en": "en_GB"}


class MissingMessageError(KeyError):
    """A message key is absent from a language's catalog (a bug, caught by the tests)."""


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = str(value)
    return flat


def _read(*parts: str) -> dict[str, str]:
    resource = resources.files(__package__).joinpath(*parts)
    if not resource.is_file():
        return {}
    return _flatten(yaml.safe_load(resource.read_text(encoding="utf-8")) or {})


@functools.cache
def _catalog(language: str, audience: str = "customers") -> dict[str, str]:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language '{language}'; use one of {', '.join(LANGUAGES)}")
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience '{audience}'; use one of {', '.join(AUDIENCES)}")
    messages = _read(f"{language}.yml")
    if audience != "customers":
        messages = {**messages, **_read(audience, f"{language}.yml")}
    return messages


def catalog_keys(language: str) -> set[str]:
    """Return every message key defined for ``language``.

    Parameters
    ----------
    language
        ``"nl"`` or ``"en"``.

    Returns
    -------
    set of str
        Dotted message keys.

    Examples
    --------
    >>> "sections.summary" in catalog_keys("en")
    True
    """
    return set(_catalog(language))


class Translator:
    """Messages and number formats for one report language.

    Parameters
    ----------
    language
        ``"nl"`` (default) or ``"en"``.
    currency
        ISO 4217 code used by :meth:`money`.
    audience
        Who the report speaks of: ``"customers"`` (default), ``"donors"`` or
        ``"subscribers"`` (:attr:`clvreport.audiences.base.Audience.name`).

    Examples
    --------
    >>> nl = Translator("nl", "EUR")
    >>> nl.percent(0.125), nl.number(1234567)
    ('12,5%', '1.234.567')
    >>> print(Translator("en", "EUR").money(1234.56, digits=2))
    €1,234.56
    """

    def __init__(self, language: str = "nl", currency: str = "EUR", audience: str = "customers"):
        self.language = language
        self.currency = currency
        self.audience = audience
        self.locale = Locale.parse(_LOCALES[language]) if language in _LOCALES else None
        self._messages = _catalog(language, audience)

    def __call__(self, key: str, /, **values: Any) -> str:
        """Return the message ``key`` with ``{placeholders}`` filled from ``values``."""
        try:
            template = self._messages[key]
        except KeyError:
            raise MissingMessageError(f"message '{key}' missing in {self.language}.yml") from None
        return template.format(**values) if values else template

    def group(self, prefix: str) -> dict[str, str]:
        """All messages under ``prefix`` as ``{last key part: text}`` (e.g. a plot's labels)."""
        start = prefix.rstrip(".") + "."
        return {
            key[len(start) :]: text
            for key, text in self._messages.items()
            if key.startswith(start) and "." not in key[len(start) :]
        }

    def has(self, key: str) -> bool:
        """Whether the catalog defines ``key``."""
        return key in self._messages

    def money(self, value: float, *, digits: int = 0) -> str:
        """Format an amount in the report currency, rounded to ``digits`` decimals.

        Never more decimals than the currency has (the yen none, ISO 4217).

        Examples
        --------
        >>> Translator("en", "JPY").money(1234.5, digits=2)
        'JP¥1,234'
        >>> Translator("nl", "EUR").money(1234.5, digits=2)
        '€ 1.234,50'
        """
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        digits = min(digits, get_currency_precision(self.currency))
        pattern = self.locale.currency_formats["standard"].pattern
        if digits == 0:
            pattern = pattern.replace(".00", "")
        return format_currency(
            value, self.currency, format=pattern, locale=self.locale, currency_digits=False
        )

    def number(self, value: float, *, digits: int = 0) -> str:
        """Format a plain number with the locale's grouping and ``digits`` decimals."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, share: float, *, digits: int = 1) -> str:
        """Format a share (0.125) as a percentage (``12,5%``)."""
        if share is None or (isinstance(share, float) and math.isnan(share)):
            return "–"
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return format_percent(share, format=pattern, locale=self.locale)

    def join(self, items: list[str]) -> str:
        """Join words as a list in the language (``a, b en c`` / ``a, b and c``)."""
        return format_list(list(items), locale=self.locale) if items else ""

    def date(self, value: dt.date, *, style: str = "long") -> str:
        """Format a date (``31 december 2024`` / ``31 December 2024``)."""
        return format_date(value, format=style, locale=self.locale)


@functools.cache
def translator(language: str = "nl", currency: str = "EUR") -> Translator:
    """Return a cached :class:`Translator` for ``language`` and ``currency``."""
    return Translator(language, currency)
