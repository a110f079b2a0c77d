"""The audiences behind one seam: the registry, no audience branch outside it, and its fits."""

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest

from clvreport.audiences import Audience, Fit, audience, businesses, running
from clvreport.audiences.donors import DonorAudience
from clvreport.audiences.shop import ShopAudience
from clvreport.audiences.subscribers import SubscriberAudience, subscriber_summary
from clvreport.donors import DonorFit
from clvreport.models.fitting import ClvModelFit
from clvreport.subscribers import SubscriberFit

PACKAGE = Path(__file__).resolve().parents[1] / "clvreport"
BRANCH = re.compile(
    r"business ?[!=]=|isinstance\([^)]*(Donor|Subscriber)Fit|\.subscribers is (not )?None"
    r'|\.donors is (not )?None|"active" in '
)
"""A branch on the audience: on ``business``, on the fit's class, on the audience's own
figures or on the subscriptions' ``active`` column."""


def test_no_audience_branch_outside_the_audiences_package():
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if "audiences" not in path.relative_to(PACKAGE).parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if BRANCH.search(line)
    ]
    assert found == []


def test_the_pattern_finds_the_branches_it_is_meant_to():
    lines = [
        'if config.business == "discrete":',
        "if self.business != 'subscription':",
        "if isinstance(fit, DonorFit):",
        "if a.subscribers is not None:",
        "if a.donors is None:",
        'if "active" in customers:',
    ]
    assert all(BRANCH.search(line) for line in lines)
    assert not BRANCH.search('if "activeness" in customers or business in ("x",):')


def test_registry_is_keyed_by_business():
    assert businesses() == ("transactions", "discrete", "subscription")
    kinds = [audience(b) for b in businesses()]
    assert [type(k) for k in kinds] == [ShopAudience, DonorAudience, SubscriberAudience]
    assert [k.business for k in kinds] == list(businesses())
    assert [k.name for k in kinds] == ["customers", "donors", "subscribers"]
    assert audience(None) is audience("transactions") and audience("discrete") is kinds[1]
    assert all(isinstance(k, Audience) for k in kinds)
    with pytest.raises(KeyError, match="no audience for business 'retail'"):
        audience("retail")


def test_which_sections_each_audience_has():
    shop, donors, subscribers = (audience(b) for b in businesses())
    assert (shop.big_spender, shop.monthly_cohorts, shop.winback) == (True, True, False)
    assert (donors.big_spender, donors.monthly_cohorts, donors.winback) == (True, False, False)
    assert (subscribers.big_spender, subscribers.winback) == (False, True)


def test_every_fit_is_a_fit():
    fits = [
        ClvModelFit(status="failed", reasons=("no_data",), time_unit="weeks"),
        DonorFit(status="failed", reasons=("too_few_repeat_buyers",), period="year"),
        SubscriberFit(status="failed", reasons=("fit_failed",), period="month"),
    ]
    for fit in fits:
        assert isinstance(fit, Fit)
        assert fit.usable is False and fit.reason == fit.reasons[0]
        assert fit.spend_caps is None and fit.season is None and fit.holdout is None
    assert [f.time_unit for f in fits] == ["weeks", "years", "months"]
    assert [f.model_name for f in fits] == [None, "bgbb", "sbg"]


def test_model_block_names_the_business():
    fit = DonorFit(status="failed", reasons=("too_few_repeat_buyers",), period="year")
    block = audience("discrete").model_block(fit)
    assert block["business"] == "discrete" and block["period"] == "year"
    assert block["choice_note"] == "discrete_business" and block["validation"] is None
    shop = ClvModelFit(status="failed", reasons=("no_data",), time_unit="weeks")
    assert audience("transactions").model_block(shop)["business"] == "transactions"


def test_subscribers_summary_is_their_own_and_the_csv_keeps_its_names():
    contracts = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "start": pd.to_datetime(["2023-01-01", "2024-01-01", "2024-03-01"]),
            "renewals": [11, 4, 2],
            "price": [10.0, 12.0, 9.0],
        }
    )
    summary = subscriber_summary(contracts)
    assert list(summary.columns) == ["customer_id", "renewals", "price"]
    assert summary.values.tolist() == [["a", 4, 12.0], ["b", 2, 9.0]]
    inputs = audience("subscription").model_inputs(summary)
    assert inputs["frequency"].tolist() == [4, 2] and inputs["T"].tolist() == [4.0, 2.0]
    assert inputs["recency"].tolist() == [4.0, 2.0]
    assert inputs["monetary_value"].tolist() == [12.0, 9.0]
    shop = pd.DataFrame({"customer_id": ["x"], "frequency": [1], "recency": [2.0], "T": [3.0]})
    assert audience("transactions").model_inputs(shop) is shop


def test_running_is_the_subscriptions_active_column():
    flags = running(pd.DataFrame({"active": [True, False, None]}))
    assert flags is not None and flags.tolist() == [True, False, False]
    assert running(pd.DataFrame({"p_alive": [0.4]})) is None
    ids = pd.Series(["1", "2", "3"])
    scores = pd.DataFrame({"customer_id": ["2", "1"], "active": [True, False]})
    assert audience("subscription").running(ids, scores).tolist() == [False, True, False]
    assert audience("discrete").running(ids, scores) is None


def test_validation_checks_are_the_audiences_own(tmp_path):
    from clvreport.audiences import validation_checks
    from clvreport.config import load_client
    from clvreport.errors import DataError

    first_check = {"demo": "transactions", "goededoel": "gifts", "abonnement": "subscriptions"}
    for client, what in first_check.items():
        client_dir, config = load_client(client, PACKAGE.parent / "data")
        found = validation_checks(config, client_dir)
        assert [name for name, _ in found.checks][-1 if client == "demo" else 0] == what
    # a report date months after the data: the shop's holdout would hold no purchase
    client_dir, config = load_client("demo", PACKAGE.parent / "data")
    late = config.model_copy(update={"holdout_months": 3})
    with pytest.raises(DataError, match="hold no transaction"):
        validation_checks(late, client_dir, dt.date(2025, 9, 30))


def test_a_subscription_needs_its_start_and_end_columns():
    from pydantic import ValidationError

    from clvreport.config import ClientConfig

    data = {"sources": ["log.csv"], "columns": {"customer_id": "k", "date": "s", "amount": "p"}}
    with pytest.raises(ValidationError, match=r"needs subscription\.start and subscription\.end"):
        ClientConfig.model_validate({"name": "x", "business": "subscription", "data": data})
    same = {"start": "s", "end": " S "}
    with pytest.raises(ValidationError, match="both name the column 's'"):
        ClientConfig.model_validate(
            {"name": "x", "business": "subscription", "data": data, "subscription": same}
        )
    shop = ClientConfig.model_validate({"name": "x", "data": data})
    assert shop.business == "transactions"
