"""The donor overlay of the message catalogs and of the segment labels.

``clvreport/i18n/donors/<language>.yml`` replaces the messages of the main
catalogs that speak of customers, purchases and revenue; ``clvreport/rules/
donors/segments.yml`` gives the segments donor labels. Both may only reword:
same keys, same placeholders, same segment rules.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from importlib import resources
from typing import Any

import pytest
import yaml

from clvreport.i18n import LANGUAGES, Translator, catalog_keys
from clvreport.segments import load_segment_rules

AUDIENCE = "donors"

# Shop words that must not survive in a donor report, also inside compounds
# (klantwaarde, herhaalaankopen, gastbestelling, omzetaandeel, Kortingsbon ...).
FORBIDDEN = {
    "nl": re.compile(
        r"klant|aankoop|aankopen|webwinkel|bestelling|kocht|kopen|koper|\bkoop|omzet|korting"
        r"|retour|product",
        re.IGNORECASE,
    ),
    "en": re.compile(
        r"customer|purchas|\bshop|\border|\bbuy|\bbought|revenue|spender|voucher|product",
        re.IGNORECASE,
    ),
}
# customers.xlsx and customers.csv are the names of files the report ships with:
# they stay as they are, so they are removed before looking for shop words.
FILE_NAMES = re.compile(r"\bcustomers\.(?:xlsx|csv)\b")
# Placeholder names ({customers}, {revenue}) are the code's, not words of the text.
PLACEHOLDERS = re.compile(r"\{[^{}]*\}")
# Keys whose text may keep a shop word, with the reason. None needed so far.
ALLOWED: dict[str, set[str]] = {"nl": set(), "en": set()}


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _load(*parts: str) -> dict[str, Any]:
    resource = resources.files("clvreport").joinpath(*parts)
    assert resource.is_file(), f"missing clvreport/{'/'.join(parts)}"
    document = yaml.safe_load(resource.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"clvreport/{'/'.join(parts)} is not a mapping"
    return document


def _overlay(language: str) -> dict[str, Any]:
    return _flatten(_load("i18n", AUDIENCE, f"{language}.yml"))


def _main(language: str) -> dict[str, Any]:
    return _flatten(_load("i18n", f"{language}.yml"))


def _words(text: str) -> str:
    """The text without file names and placeholders: what the reader sees as words."""
    return PLACEHOLDERS.sub("", FILE_NAMES.sub("", text))


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


@pytest.mark.parametrize("language", LANGUAGES)
def test_overlay_only_rewords_existing_messages(language):
    overlay, main = _overlay(language), _main(language)
    assert overlay, "the overlay is empty"
    assert sorted(set(overlay) - set(main)) == [], f"keys unknown to {language}.yml"
    not_text = sorted(key for key, value in overlay.items() if not isinstance(value, str))
    assert not_text == [], "overlay messages must be text"
    empty = sorted(key for key, value in overlay.items() if not value.strip())
    assert empty == []
    # A neutral message is not repeated: every override changes the wording.
    unchanged = sorted(key for key, value in overlay.items() if value == main[key])
    assert unchanged == [], "identical to the main catalog: leave these out"


@pytest.mark.parametrize("language", LANGUAGES)
def test_overlay_keeps_every_placeholder(language):
    overlay, main = _overlay(language), _main(language)
    wrong = {
        key: (sorted(_placeholders(text)), sorted(_placeholders(main[key])))
        for key, text in overlay.items()
        if key in main and _placeholders(text) != _placeholders(main[key])
    }
    assert wrong == {}, "(overlay, main) placeholders differ"


def test_overlays_define_the_same_keys():
    nl, en = set(_overlay("nl")), set(_overlay("en"))
    assert sorted(nl - en) == [], "missing in donors/en.yml"
    assert sorted(en - nl) == [], "missing in donors/nl.yml"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_donor_message_formats(language):
    """The merged catalog is complete and every message fills with its placeholders."""
    t = Translator(language, "EUR", audience=AUDIENCE)
    for key in sorted(catalog_keys(language)):
        assert t.has(key), key
        fields = _placeholders(t(key))
        text = t(key, **{field: "X" for field in fields}) if fields else t(key)
        assert "{" not in text and "}" not in text, key


@pytest.mark.parametrize("language", LANGUAGES)
def test_donor_report_has_no_shop_words(language):
    t = Translator(language, "EUR", audience=AUDIENCE)
    found = {}
    for key in sorted(catalog_keys(language)):
        if key in ALLOWED[language]:
            continue
        words = FORBIDDEN[language].findall(_words(t(key)))
        if words:
            found[key] = words
    assert found == {}, "shop words left in the donor catalog"


@pytest.mark.parametrize("language", LANGUAGES)
def test_overlay_is_used_and_leaves_the_customer_report_alone(language):
    donors = Translator(language, "EUR", audience=AUDIENCE)
    customers = Translator(language, "EUR")
    overlay = _overlay(language)
    for key, text in overlay.items():
        assert donors(key) == text, key
        assert customers(key) == _main(language)[key], key
    neutral = sorted(catalog_keys(language) - set(overlay))
    assert neutral, "every message overridden?"
    assert all(donors(key) == customers(key) for key in neutral)


def test_donor_wording():
    nl = Translator("nl", "EUR", audience=AUDIENCE)
    en = Translator("en", "EUR", audience=AUDIENCE)
    assert "donateur" in nl("meta.title").lower()
    assert "donor" in en("meta.title").lower()
    assert "nog geeft" in nl("plots.p_alive.p_alive")
    assert "still gives" in en("plots.p_alive.p_alive")
    assert nl("loyalty.new") == "Nieuwe donateurs"
    assert en("loyalty.new") == "New donors"
    # The discount channel of recommendations.yml is a thank-you gift for donors.
    assert "bedankje" in nl("economics.by_channel.discount")
    assert "thank-you gift" in en("economics.by_channel.discount")
    # Rules of thumb are labelled as such and carry no shop statistics.
    for t in (nl, en):
        for key in ("loyalty.rule_of_thumb", "recommendations.rule_of_thumb"):
            assert not re.search(r"\d", t(key)), key
    assert nl("loyalty.rule_of_thumb").startswith("Vuistregel")
    assert en("loyalty.rule_of_thumb").startswith("Rule of thumb")
    filled = nl("summary.headline", customers="1.234", revenue="€ 5", share="60%")
    assert filled == "1.234 donateurs gaven samen € 5; de beste 20% van hen gaf 60% van dat bedrag."


def test_donor_segment_rules():
    default = load_segment_rules()
    donors = load_segment_rules(audience=AUDIENCE)
    assert donors.bins == default.bins
    assert donors.codes == default.codes
    for code in default.codes:
        assert donors.rules[code].ranges() == default.rules[code].ranges(), code
    assert donors.lookup().equals(default.lookup())
    for language, word in (("nl", "donateur"), ("en", "donor")):
        labels, descriptions = donors.labels(language), donors.descriptions(language)
        customer_labels = default.labels(language)
        assert len(set(labels.values())) == len(labels), "labels must differ"
        for code in default.codes:
            assert word in labels[code].lower(), (language, code, labels[code])
            assert labels[code] != customer_labels[code], (language, code)
            assert descriptions[code] != default.descriptions(language)[code], (language, code)
            for text in (labels[code], descriptions[code]):
                assert not FORBIDDEN[language].search(text), (language, code, text)
    # The customer report keeps its own labels.
    assert load_segment_rules().labels("nl")["champions"] == "Topklanten"


def test_donor_segment_file_only_has_words():
    document = _load("rules", AUDIENCE, "segments.yml")
    assert set(document) == {"rules"}
    default = _load("rules", "segments.yml")["rules"]
    assert set(document["rules"]) == set(default)
    for code, rule in document["rules"].items():
        assert set(rule) == {"label", "description"}, code
        for key in ("label", "description"):
            assert set(rule[key]) == set(LANGUAGES), (code, key)


def test_client_overrides_still_apply_on_donor_labels():
    rules = load_segment_rules(
        {"rules": {"champions": {"label": {"nl": "Kanjers"}}}}, audience=AUDIENCE
    )
    assert rules.labels("nl")["champions"] == "Kanjers"
    assert rules.labels("en")["champions"] == "Top donors"


@pytest.mark.parametrize("language", LANGUAGES)
def test_formatting_unaffected_by_audience(language):
    donors = Translator(language, "EUR", audience=AUDIENCE)
    customers = Translator(language, "EUR")
    assert donors.audience == AUDIENCE
    day = dt.date(2024, 12, 31)
    for method, value, kwargs in [
        ("money", 1234.56, {"digits": 2}),
        ("money", 1234567.4, {}),
        ("money", float("nan"), {}),
        ("number", 1234567.891, {}),
        ("number", 2.5, {"digits": 1}),
        ("percent", 0.125, {}),
        ("percent", 0.5, {"digits": 0}),
        ("date", day, {}),
        ("date", day, {"style": "medium"}),
    ]:
        assert getattr(donors, method)(value, **kwargs) == getattr(customers, method)(
            value, **kwargs
        ), method
    assert donors.join(["a", "b", "c"]) == customers.join(["a", "b", "c"])
    if language == "nl":
        assert donors.money(1234.56, digits=2) == "€\xa01.234,56"
        assert donors.percent(0.125) == "12,5%"
    else:
        assert donors.money(1234.56, digits=2) == "€1,234.56"
        assert donors.percent(0.125) == "12.5%"
