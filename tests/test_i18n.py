import datetime as dt

import pytest

from clvreport.i18n import LANGUAGES, MissingMessageError, Translator, catalog_keys


def test_catalogs_define_the_same_keys():
    nl, en = catalog_keys("nl"), catalog_keys("en")
    assert nl - en == set(), f"missing in en.yml: {sorted(nl - en)}"
    assert en - nl == set(), f"missing in nl.yml: {sorted(en - nl)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_empty_messages(language):
    t = Translator(language)
    empty = [key for key in catalog_keys(language) if not t(key).strip()]
    assert empty == []


def test_dutch_number_formats():
    t = Translator("nl", "EUR")
    assert t.money(1234.56, digits=2) == "€\xa01.234,56"  # non-breaking space
    assert t.money(1234567.4) == "€\xa01.234.567"
    assert t.percent(0.125) == "12,5%"
    assert t.number(1234567.891) == "1.234.568"
    assert t.number(2.5, digits=1) == "2,5"
    assert t.date(dt.date(2024, 12, 31)) == "31 december 2024"


def test_english_number_formats():
    t = Translator("en", "EUR")
    assert t.money(1234.56, digits=2) == "€1,234.56"
    assert t.percent(0.125) == "12.5%"
    assert t.number(1234567.891) == "1,234,568"
    assert t.date(dt.date(2024, 12, 31)) == "31 December 2024"


def test_missing_key_is_an_error():
    with pytest.raises(MissingMessageError, match=r"no\.such\.key"):
        Translator("en")("no.such.key")


def test_placeholders_are_filled():
    t = Translator("en")
    key = next(k for k in sorted(catalog_keys("en")) if "{" in t(k))
    assert "{" in t(key)


@pytest.mark.parametrize(("currency", "shown"), [("EUR", 2), ("JPY", 0), ("KWD", 2)])
def test_money_never_shows_more_decimals_than_the_currency_has(currency, shown):
    """The yen has no cents: ¥1,234 rather than ¥1,234.50 (ISO 4217 minor units)."""
    text = Translator("en", currency).money(1234.5, digits=2)
    assert (len(text.rsplit(".", 1)[1]) if "." in text else 0) == shown
    assert "." not in Translator("en", currency).money(1234.5)
