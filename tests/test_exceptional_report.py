"""Exceptional orders in the report and in ``validate``: counted, explained, marked.

The client is the seeded simulated log of :mod:`whale_log` (six customers with
one enormous order each); its analysis runs once per language.
"""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest
from whale_log import whale_log

from clvreport.report import sections
from clvreport.report.context import setup
from clvreport.validate import validate_client

CLIENT_YML = """name: "Groothandel De Walvis"
language: nl
currency: GBP
gross_margin: 1.0
holdout_months: 6
data:
  sources: orders.csv
  columns:
    customer_id: klant
    date: datum
    amount: bedrag
"""


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    log = whale_log(seed=7)
    data = tmp_path_factory.mktemp("clients")
    folder = data / "walvis"
    folder.mkdir()
    log.write(folder / "orders.csv")
    (folder / "client.yml").write_text(CLIENT_YML, encoding="utf-8")
    return log, data


@pytest.fixture(scope="module", params=["en", "nl"])
def ctx(client, request, tmp_path_factory):
    _, data = client
    out = tmp_path_factory.mktemp(f"report-{request.param}")
    return setup(client="walvis", data_dir=data, language=request.param, output_dir=out)


def test_the_data_quality_table_lists_and_explains_them(ctx, client) -> None:
    log, _ = client
    t, q = ctx.t, ctx.analysis.quality
    flagged = dict(q.flagged)
    text = plain(sections.data_quality(ctx))
    assert flagged.get("exceptional_order", 0) + flagged.get("outlier", 0) == len(log.whale_orders)
    label = t("data_quality.flags.exceptional_order")
    assert re.search(rf"\| {re.escape(label)} \| {flagged['exceptional_order']} \|", text)
    rule = ctx.analysis.exceptional_rule
    note = t(
        "data_quality.exceptional_note",
        factor=t.number(rule.factor, digits=0),
        median=t.money(rule.median_order),
    )
    assert note in text


def test_the_methodology_says_in_one_sentence_what_the_forecast_did(ctx, client) -> None:
    log, _ = client
    t = ctx.t
    caps = ctx.analysis.model.spend_caps
    assert caps.applied and caps.orders == len(log.whale_orders)
    text = sections.methodology(ctx)
    sentence = t(
        "methodology.spend_capped",
        orders=t.number(caps.orders),
        amount=t.money(log.whale_orders["amount"].sum()),
        median=t.money(caps.rule["median_order"]),
        factor=t.number(caps.rule["factor"], digits=0),
    )
    assert sentence in text


def test_no_whale_in_the_top_table_so_nothing_is_marked(ctx, client) -> None:
    log, _ = client
    text = sections.most_valuable_customers(ctx)
    top = ctx.analysis.customers.nlargest(sections.TOP_CUSTOMERS, "clv")["customer_id"]
    assert not set(top) & set(log.whales)
    assert "(†)" not in text


def plain(markdown: str) -> str:
    """The markdown without its escapes (``\\*`` → ``*``, ``\\'`` → ``'``)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _with_customers(ctx, customers: pd.DataFrame):
    return dataclasses.replace(ctx, analysis=dataclasses.replace(ctx.analysis, customers=customers))


def test_a_top_table_by_revenue_marks_the_customers_resting_on_one_order(ctx, client) -> None:
    log, _ = client
    t = ctx.t
    history = ctx.analysis.customers.drop(
        columns=[c for c in ("clv", "p_alive", "value_at_stake") if c in ctx.analysis.customers]
    )
    text = plain(sections.most_valuable_customers(_with_customers(ctx, history)))
    top = history.nlargest(sections.TOP_CUSTOMERS, "revenue").set_index("customer_id")
    orders = log.whale_orders.set_index("customer_id")["amount"]
    expected = [
        c for c in top.index if c in orders.index and orders[c] > 0.5 * top.loc[c, "revenue"]
    ]
    assert expected  # the enormous orders put some whales among the top by revenue
    marked = re.findall(r"^\| (\S+?)(?: \(\*\))? \(†\) \|", text, re.M)
    assert marked == expected
    for customer in expected:
        sentence = t("value.top_one_order", customer=customer, amount=t.money(orders[customer]))
        assert sentence in text


def test_a_forecast_top_customer_resting_on_one_order_says_how_it_counts(ctx, client) -> None:
    log, _ = client
    t = ctx.t
    whale = log.whale_orders.iloc[0]
    customers = ctx.analysis.customers.copy()
    customers.loc[customers["customer_id"] == whale["customer_id"], "clv"] = 1e9  # on top
    text = plain(sections.most_valuable_customers(_with_customers(ctx, customers)))
    reference = ctx.analysis.exceptional_orders.set_index("customer_id").loc[
        whale["customer_id"], "reference"
    ]
    sentence = t(
        "value.top_one_order_capped",
        customer=whale["customer_id"],
        amount=t.money(whale["amount"]),
        reference=t.money(reference),
    )
    assert sentence in text
    assert re.search(rf"^\| {whale['customer_id']}(?: \(\*\))? \(†\) \|", text, re.M)


def test_validate_names_the_largest_enormous_orders(client) -> None:
    log, data = client
    result = validate_client("walvis", data_dir=data)
    listed = [w for w in result.warnings if w.startswith("exceptional orders, largest first")]
    assert len(listed) == 1
    largest = log.whale_orders.sort_values("amount", ascending=False).iloc[0]
    assert f"customer {largest['customer_id']} on {largest['order_date'].date()}" in listed[0]
    assert f"{largest['amount']:,.2f}" in listed[0]
    flagged = [w for w in result.warnings if "far larger than both" in w]
    assert flagged or all("outlier" in w for w in result.warnings if "flagged" in w)
