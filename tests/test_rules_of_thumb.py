"""Rules of thumb are labelled where they appear and compared only with figures of their kind.

A figure from the literature (60–70% against 5–20%, about 70% leave over the
service, 20% bring 80%) is never stated as a fact about the client: every
message that carries one says it is a rule of thumb, in the same message. The
sales-attempt rule (an existing customer against a prospect) is not set beside
the client's repeat purchases, which measure something else.
"""

from __future__ import annotations

import re

import pytest

from clvreport.i18n import LANGUAGES, Translator, catalog_keys

AUDIENCES = ("customers", "donors", "subscribers")
LABEL = {"nl": re.compile(r"vuistregel", re.I), "en": re.compile(r"rule of thumb", re.I)}
# Statistics of the literature as the catalogs write them (never a placeholder's value); the
# 80% of "the best 20% bring 80%" is labelled where it is claimed (concentration.claim_*),
# elsewhere 80% is the client's own measure (who makes 80% of revenue, the other 80%).
LITERATURE = re.compile(r"60[–-]70\s?%|5[–-]20\s?%|\b70\s?%|20% (?:van de|of) \w+ \w+ 80%")


def _messages(language: str, audience: str) -> dict[str, str]:
    t = Translator(language, "EUR", audience=audience)
    return {key: t(key) for key in sorted(catalog_keys(language))}


@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_statistic_of_the_literature_is_labelled_a_rule_of_thumb(language, audience):
    unlabelled = {
        key: text
        for key, text in _messages(language, audience).items()
        if LITERATURE.search(text) and not LABEL[language].search(text)
    }
    assert unlabelled == {}


@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_action_texts_state_no_unlabelled_figures(language, audience):
    """An action's why and what speak of this client's customers: a number there is labelled."""
    for key, text in _messages(language, audience).items():
        if key.startswith("recommendations.actions.") and re.search(r"\d", text):
            assert LABEL[language].search(text), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sales_attempt_rule_is_not_set_beside_repeat_purchases(language):
    t = Translator(language, "EUR")
    rule = t("loyalty.rule_of_thumb")
    assert LABEL[language].match(rule)
    assert "{" not in rule  # no figure of the client in the rule itself
    # it says what it compares (sales attempts: existing customers and prospects) and
    # that the data cannot check it; the measured figure is introduced as something else
    assert {"nl": "prospect", "en": "prospect"}[language] in rule
    assert {"nl": "niet naast uw cijfers", "en": "not set this rule of thumb beside"}[
        language
    ] in rule
    measured = t("loyalty.measured_repeat")
    assert {"nl": "iets anders", "en": "something else"}[language] in measured
    assert not LITERATURE.search(measured)
    # page 2's unused finding no longer carries the comparison either
    assert not LITERATURE.search(t("summary.finding_repeat"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_leaving_over_service_is_only_a_rule_of_thumb(language):
    t = Translator(language, "EUR")
    service = {"nl": "service", "en": "service"}[language]
    for key in sorted(catalog_keys(language)):
        text = t(key)
        if service in text and re.search(r"\b70\s?%|meeste vertrekken|most leave", text):
            assert LABEL[language].search(text), key
