"""Legacies and other one-off gifts are reported apart, not modelled as a giving habit.

The fixture is the generated example charity's export (clvreport.demo_donors) with two
legacies added: €25.000 from a donor who never gave before and €8.500 from a donor
who did. Neither may make a donor valuable or put a deceased donor on an action list.
"""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from clvreport.analysis import run_analysis
from clvreport.config import DataPolicies, load_client
from clvreport.outputs import customer_table

EXAMPLES = Path(__file__).parents[1] / "data"
LEGACY_ONLY = "999001"


@pytest.fixture(scope="module")
def legacy_analysis(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "legaat"
    folder.mkdir()
    shutil.copy(EXAMPLES / "goededoel" / "client.yml", folder / "client.yml")
    gifts = (EXAMPLES / "goededoel" / "donaties.csv").read_text(encoding="utf-8")
    existing = gifts.splitlines()[1].split(";")[0]
    gifts = gifts.rstrip("\n") + (
        f"\n{LEGACY_ONLY};15-03-2024;25000,00;Nalatenschap;algemeen"
        f"\n{existing};02-05-2024;8500,00;nalatenschap;algemeen\n"
    )
    (folder / "donaties.csv").write_text(gifts, encoding="utf-8")
    client_dir, config = load_client("legaat", folder.parent)
    return existing, run_analysis(config, client_dir)


def test_the_defaults_name_legacies_in_dutch_and_english():
    kinds = DataPolicies().one_off_channels
    assert {"nalatenschap", "legaat", "legacy", "bequest"} <= set(kinds)


def test_legacies_are_counted_apart_with_their_amount(legacy_analysis):
    _, analysis = legacy_analysis
    q = analysis.quality
    assert dict(q.excluded)["one_off_gift"] == 2
    assert q.one_off_rows == 2 and q.one_off_amount == pytest.approx(33_500)
    assert {value.lower() for value, _, _ in q.one_off} == {"nalatenschap"}
    assert q.to_dict()["one_off"][0]["amount"] == pytest.approx(33_500)


def test_validate_lists_the_one_off_gifts(legacy_analysis):
    from clvreport.validate import validate_client

    _, analysis = legacy_analysis
    data_dir = analysis.client_dir.parent
    checks = dict(validate_client("legaat", data_dir=data_dir).checks)
    assert checks["one-off gifts"].startswith("'Nalatenschap': 2 rows, 33,500.00")
    # a donor client's gifts are summed up after the one-off gifts, then the model and holdout
    assert list(checks)[-4:] == ["one-off gifts", "gifts", "model", "holdout"]


def test_a_legacy_donor_is_on_no_list_and_a_legacy_adds_no_value(legacy_analysis):
    existing, analysis = legacy_analysis
    customers = analysis.customers
    ids = customers["customer_id"].astype(str)
    assert LEGACY_ONLY not in set(ids)
    table = customer_table(analysis)
    assert LEGACY_ONLY not in set(table["customer_id"].astype(str))
    donor = customers[ids == existing].iloc[0]
    assert donor["revenue"] < 8_500 and donor["expected_spend"] < 1_000  # not a gift habit
    top = customers.sort_values("clv", ascending=False).head(10)
    assert existing not in set(top["customer_id"].astype(str))
    assert pd.notna(customers["clv"]).all()


def test_the_methodology_names_the_spend_model_model_json_has(legacy_analysis):
    import dataclasses

    from clvreport.report.sections import _model_sentence

    _, analysis = legacy_analysis
    ctx = _context(analysis)
    assert analysis.model.spend_model is not None
    assert "Gamma-Gamma) schat het bedrag" in _model_sentence(ctx)
    fallback = dataclasses.replace(
        analysis.model,
        spend_model=None,
        reasons=(*analysis.model.reasons, "spend_model_unavailable"),
    )
    text = _model_sentence(_context(dataclasses.replace(analysis, model=fallback)))
    assert "spend_model_unavailable" in text and "niet met een model" in text
    assert "Gamma-Gamma) schat" not in text


def test_the_report_states_the_legacies_apart(legacy_analysis):
    from clvreport.report.sections import data_quality

    _, analysis = legacy_analysis
    text = str(data_quality(_context(analysis)))
    assert "Nalatenschap" in text and "33.500" in text and "geen actielijst" in text


def _context(analysis):
    from clvreport.i18n import Translator
    from clvreport.report.context import ReportContext

    return ReportContext("legaat", analysis, Translator("nl", audience="donors"), Path("."))
