"""The donor and subscriber overlays of the message catalogs and of the segment labels.

``clvreport/i18n/donors/<language>.yml`` replaces the messages of the main
catalogs that speak of customers, purchases and revenue; ``clvreport/rules/
donors/segments.yml`` gives the segments donor labels. ``clvreport/i18n/
subscribers/<language>.yml`` and ``clvreport/rules/subscribers/segments.yml`` do
the same for subscription services (customers → subscribers, purchases →
payments and renewals; revenue stays revenue). All may only reword: same keys,
same placeholders, same segment rules.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from importlib import resources
from typing import Any

import pytest
import yaml

from clvreport.i18n import AUDIENCES, LANGUAGES, Translator, catalog_keys
from clvreport.segments import load_segment_rules

AUDIENCE = "donors"
SUBSCRIBERS = "subscribers"
OVERLAYS = (AUDIENCE, SUBSCRIBERS)

# Shop words that must not survive in a donor report, also inside compounds
# (klantwaarde, herhaalaankopen, gastbestelling, omzetaandeel, Kortingsbon ...).
DONOR_FORBIDDEN = {
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
# Shop words that must not survive in a subscriber report. Revenue (omzet), discounts
# (korting: a month at a reduced price) and returns of an action stay: a subscription
# service is a business.
SUBSCRIBER_FORBIDDEN = {
    "nl": re.compile(
        r"klant|aankoop|aankopen|webwinkel|bestelling|kocht|kopen|koper|\bkoop|retour"
        r"|kortingsbon",
        re.IGNORECASE,
    ),
    "en": re.compile(
        r"customer|purchas|\bshop|\border|\bbuy|\bbought|spender|voucher",
        re.IGNORECASE,
    ),
}
FORBIDDEN = DONOR_FORBIDDEN
FORBIDDEN_BY_AUDIENCE = {AUDIENCE: DONOR_FORBIDDEN, SUBSCRIBERS: SUBSCRIBER_FORBIDDEN}
# customers.xlsx and customers.csv are the names of files the report ships with:
# they stay as they are, so they are removed before looking for shop words.
FILE_NAMES = re.compile(r"\bcustomers\.(?:xlsx|csv)\b")
# Placeholder names ({customers}, {revenue}) are the code's, not words of the text.
PLACEHOLDERS = re.compile(r"\{[^{}]*\}")
# Keys whose text may keep a shop word, with the reason. None needed so far.
ALLOWED: dict[str, set[str]] = {"nl": set(), "en": set()}
# Keys whose subscriber text may keep a shop word, with the reason. None needed so far.
SUBSCRIBER_ALLOWED: dict[str, set[str]] = {"nl": set(), "en": set()}
ALLOWED_BY_AUDIENCE = {AUDIENCE: ALLOWED, SUBSCRIBERS: SUBSCRIBER_ALLOWED}
# Messages of the other audiences that never appear in a report for this audience: the
# report section of the other business and its model choice.
# the next-purchase window, its check and its columns come with the shop models only
# (the risk label and the reason column are every audience's, so they are checked)
SHOP_ONLY = (
    "next_purchase.",
    "methodology.next_purchase_",
    "value.next_purchase",
    "plots.purchase_calibration.",
    "xlsx.columns.next_purchase_",
    "xlsx.columns.p_purchase_90d",
)
NOT_IN_REPORT = {
    AUDIENCE: ("subscribers.", "methodology.choice.subscription_business", *SHOP_ONLY),
    SUBSCRIBERS: ("donors.", "methodology.choice.discrete_business", *SHOP_ONLY),
}


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


def _overlay(language: str, audience: str = AUDIENCE) -> dict[str, Any]:
    return _flatten(_load("i18n", audience, f"{language}.yml"))


def _main(language: str) -> dict[str, Any]:
    return _flatten(_load("i18n", f"{language}.yml"))


def _words(text: str) -> str:
    """The text without file names and placeholders: what the reader sees as words."""
    return PLACEHOLDERS.sub("", FILE_NAMES.sub("", text))


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


@pytest.mark.parametrize("audience", OVERLAYS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_overlay_only_rewords_existing_messages(language, audience):
    overlay, main = _overlay(language, audience), _main(language)
    assert overlay, "the overlay is empty"
    assert sorted(set(overlay) - set(main)) == [], f"keys unknown to {language}.yml"
    not_text = sorted(key for key, value in overlay.items() if not isinstance(value, str))
    assert not_text == [], "overlay messages must be text"
    empty = sorted(key for key, value in overlay.items() if not value.strip())
    assert empty == []
    # A neutral message is not repeated: every override changes the wording.
    unchanged = sorted(key for key, value in overlay.items() if value == main[key])
    assert unchanged == [], "identical to the main catalog: leave these out"


@pytest.mark.parametrize("audience", OVERLAYS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_overlay_keeps_every_placeholder(language, audience):
    overlay, main = _overlay(language, audience), _main(language)
    wrong = {
        key: (sorted(_placeholders(text)), sorted(_placeholders(main[key])))
        for key, text in overlay.items()
        if key in main and _placeholders(text) != _placeholders(main[key])
    }
    assert wrong == {}, "(overlay, main) placeholders differ"


@pytest.mark.parametrize("audience", OVERLAYS)
def test_overlays_define_the_same_keys(audience):
    nl, en = set(_overlay("nl", audience)), set(_overlay("en", audience))
    assert sorted(nl - en) == [], f"missing in {audience}/en.yml"
    assert sorted(en - nl) == [], f"missing in {audience}/nl.yml"


@pytest.mark.parametrize("audience", OVERLAYS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_donor_message_formats(language, audience):
    """The merged catalog is complete and every message fills with its placeholders."""
    t = Translator(language, "EUR", audience=audience)
    for key in sorted(catalog_keys(language)):
        assert t.has(key), key
        fields = _placeholders(t(key))
        text = t(key, **{field: "X" for field in fields}) if fields else t(key)
        assert "{" not in text and "}" not in text, key


@pytest.mark.parametrize("audience", OVERLAYS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_donor_report_has_no_shop_words(language, audience):
    t = Translator(language, "EUR", audience=audience)
    forbidden, allowed = FORBIDDEN_BY_AUDIENCE[audience], ALLOWED_BY_AUDIENCE[audience]
    found = {}
    for key in sorted(catalog_keys(language)):
        if key in allowed[language]:
            continue
        if key.startswith(NOT_IN_REPORT[audience]):
            continue
        words = forbidden[language].findall(_words(t(key)))
        if words:
            found[key] = words
    assert found == {}, f"shop words left in the {audience} catalog"


@pytest.mark.parametrize("language", LANGUAGES)
def test_subscriber_allowed_shop_words_are_still_needed(language):
    """An exception to the shop-word check is dropped once its text no longer needs it."""
    t = Translator(language, "EUR", audience=SUBSCRIBERS)
    for key in SUBSCRIBER_ALLOWED[language]:
        assert SUBSCRIBER_FORBIDDEN[language].search(_words(t(key))), key


@pytest.mark.parametrize("audience", OVERLAYS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_overlay_is_used_and_leaves_the_customer_report_alone(language, audience):
    donors = Translator(language, "EUR", audience=audience)
    customers = Translator(language, "EUR")
    overlay = _overlay(language, audience)
    main = _main(language)  # read once: the catalog is large
    for key, text in overlay.items():
        assert donors(key) == text, key
        assert customers(key) == main[key], key
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


@pytest.mark.parametrize("audience", OVERLAYS)
def test_donor_segment_file_only_has_words(audience):
    document = _load("rules", audience, "segments.yml")
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


def test_subscriber_wording():
    nl = Translator("nl", "EUR", audience=SUBSCRIBERS)
    en = Translator("en", "EUR", audience=SUBSCRIBERS)
    assert "abonnee" in nl("meta.title").lower()
    assert "subscriber" in en("meta.title").lower()
    # p_alive: the chance of still subscribing at the end of the horizon.
    assert "hele periode blijft" in nl("plots.p_alive.p_alive")
    assert "end of the horizon" in en("plots.p_alive.p_alive")
    assert nl("loyalty.new") == "Nieuwe abonnees"
    assert en("loyalty.new") == "New subscribers"
    # The discount channel of recommendations.yml is a month at a reduced price.
    assert "maand" in nl("economics.channels.discount").lower()
    assert "korting" in nl("economics.by_channel.discount")
    assert "reduced price" in en("economics.by_channel.discount")
    # Rules of thumb are labelled as such and carry no shop statistics.
    for t in (nl, en):
        for key in ("loyalty.rule_of_thumb", "recommendations.rule_of_thumb"):
            assert not re.search(r"\d", t(key)), key
    for key in ("loyalty.rule_of_thumb", "recommendations.rule_of_thumb"):
        assert nl(key).startswith("Vuistregel"), key
        assert en(key).startswith("Rule of thumb"), key
    # Revenue stays revenue: a subscription service is a business.
    assert nl("key_figures.revenue") == "Omzet"
    assert en("key_figures.revenue") == "Revenue"
    filled = nl("summary.headline", customers="1.234", revenue="€ 5", share="60%")
    assert filled == (
        "1.234 abonnees betaalden samen € 5; de beste 20% van hen bracht 60% van die omzet."
    )
    filled = en("summary.headline", customers="1,234", revenue="€5", share="60%")
    assert filled == (
        "1,234 subscribers paid €5 in total; the best 20% of them brought in 60% of that revenue."
    )


def test_subscriber_segment_rules():
    default = load_segment_rules()
    subscribers = load_segment_rules(audience=SUBSCRIBERS)
    assert subscribers.bins == default.bins
    assert subscribers.codes == default.codes
    for code in default.codes:
        assert subscribers.rules[code].ranges() == default.rules[code].ranges(), code
    assert subscribers.lookup().equals(default.lookup())
    donor_labels = {
        language: load_segment_rules(audience=AUDIENCE).labels(language) for language in LANGUAGES
    }
    for language, word in (("nl", "abonnee"), ("en", "subscriber")):
        labels, descriptions = subscribers.labels(language), subscribers.descriptions(language)
        customer_labels = default.labels(language)
        assert len(set(labels.values())) == len(labels), "labels must differ"
        for code in default.codes:
            assert word in labels[code].lower(), (language, code, labels[code])
            assert labels[code] != customer_labels[code], (language, code)
            assert labels[code] != donor_labels[language][code], (language, code)
            assert descriptions[code] != default.descriptions(language)[code], (language, code)
            for text in (labels[code], descriptions[code]):
                assert not SUBSCRIBER_FORBIDDEN[language].search(text), (language, code, text)
    # Subscribers who stopped paying long ago have cancelled: they are not "at risk".
    for language, word in (("nl", "opgezegd"), ("en", "cancelled")):
        labels = subscribers.labels(language)
        for code in ("at_risk", "cant_lose_them", "lost"):
            assert word in labels[code].lower(), (language, code, labels[code])
            assert "risico" not in labels[code].lower() and "risk" not in labels[code].lower()
    assert subscribers.labels("nl")["champions"] == "Trouwste abonnees"
    assert subscribers.labels("en")["lost"] == "Cancelled subscribers"
    # The customer and donor reports keep their own labels.
    assert load_segment_rules().labels("nl")["champions"] == "Topklanten"
    assert load_segment_rules(audience=AUDIENCE).labels("nl")["champions"] == "Topdonateurs"


def test_client_overrides_still_apply_on_subscriber_labels():
    rules = load_segment_rules(
        {"rules": {"champions": {"label": {"nl": "Kanjers"}}}}, audience=SUBSCRIBERS
    )
    assert rules.labels("nl")["champions"] == "Kanjers"
    assert rules.labels("en")["champions"] == "Most loyal subscribers"


@pytest.mark.parametrize("audience", OVERLAYS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_formatting_unaffected_by_audience(language, audience):
    donors = Translator(language, "EUR", audience=audience)
    customers = Translator(language, "EUR")
    assert donors.audience == audience
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


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("audience", AUDIENCES)
def test_the_lifetime_stake_has_a_name_of_its_own(language, audience):
    """The plan prices the stake over the whole relationship; the segment table counts the
    horizon's: two numbers, so two names (one word, one number)."""
    t = Translator(language, "EUR", audience=audience)
    lifetime = t("recommendations.stake_lifetime")
    assert lifetime not in {t("recommendations.stake"), t("segments.value_at_stake")}
