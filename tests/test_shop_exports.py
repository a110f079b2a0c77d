"""Shopify and WooCommerce order exports: init → validate → analysis with no edits (issue 27).

The exports are generated here (:mod:`shop_exports`) with the systems' own
column names, statuses that are not purchases, line-item rows, partial
refunds, guests and e-mail addresses in varying case; the analysis must find
exactly the customers, purchases and revenue the generator knows.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from shop_exports import shopify_export, woocommerce_export
from typer.testing import CliRunner

from clvreport.analysis import run_analysis
from clvreport.cli import app
from clvreport.config import ClientConfig, ColumnMapping, DataPolicies, load_client
from clvreport.errors import ConfigError, DataError
from clvreport.ingest import read_transactions
from clvreport.ingest.presets import detect_source, normalise_name
from clvreport.validate import validate_client


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def _init(export: Path, client: str, data_dir: Path):
    result = CliRunner().invoke(
        app, ["init", "--client", client, "--from", str(export), "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    return result


def _analysis_matches(client: str, data_dir: Path, truth) -> pd.DataFrame:
    """The analysis's customers, after asserting customers, purchases and revenue."""
    client_dir, config = load_client(client, data_dir)
    customers = run_analysis(config, client_dir).customers
    assert len(customers) == truth.customers
    assert int(customers["n_purchases"].sum()) == truth.purchases
    assert float(customers["revenue"].sum()) == pytest.approx(truth.revenue, abs=0.005)
    return customers


def test_shopify_export_from_init_to_analysis(tmp_path: Path, data_dir: Path) -> None:
    export = tmp_path / "orders_export_1.csv"
    truth = shopify_export(export)
    _init(export, "winkel", data_dir)
    raw = yaml.safe_load((data_dir / "winkel" / "client.yml").read_text(encoding="utf-8"))
    assert raw["currency"] == "GBP"  # from Shopify's Currency column
    assert raw["data"]["source"] == "shopify"
    assert raw["data"]["policies"]["order_lines"] == "order_total"
    assert raw["data"]["columns"]["refunded"] == "Refunded Amount"
    checked = validate_client("winkel", data_dir=data_dir)
    statuses = dict(checked.checks)["statuses"]
    for value, rows in truth.statuses.items():
        assert f"'{value}': {rows:,} rows" in statuses
    assert "excluded (not a purchase)" in statuses
    _analysis_matches("winkel", data_dir, truth)


def test_shopify_statuses_listed_with_exclusion(tmp_path: Path) -> None:
    export = tmp_path / "orders.csv"
    truth = shopify_export(export, n_customers=60)
    columns = ColumnMapping(
        customer_id="Email",
        date="Created at",
        amount="Total",
        order_id="Name",
        status="Financial Status",
        refunded="Refunded Amount",
    )
    config = ClientConfig.model_validate(
        {
            "name": "x",
            "data": {"sources": "orders.csv", "source": "shopify", "columns": columns.model_dump()},
        }
    )
    with read_transactions(export, columns, policies=config.data.policies) as tx:
        listed = {value: (n, excluded) for value, n, excluded in tx.quality.statuses}
        assert {v: n for v, (n, _) in listed.items()} == truth.statuses
        assert {v for v, (_, excluded) in listed.items() if excluded} == {
            "refunded",
            "voided",
            "pending",
        } & set(listed)
        # every line row after an order's first is merged, not a purchase of its own
        assert dict(tx.quality.excluded)["order_line"] > 0
        assert tx.quality.customers == truth.customers


def test_woocommerce_export_from_init_to_analysis(tmp_path: Path, data_dir: Path) -> None:
    export = tmp_path / "orders-2024.csv"
    truth = woocommerce_export(export)
    _init(export, "webshop", data_dir)
    raw = yaml.safe_load((data_dir / "webshop" / "client.yml").read_text(encoding="utf-8"))
    assert raw["data"]["source"] == "woocommerce"
    assert raw["data"]["columns"]["customer_fallback"] == "Billing Email"
    assert raw["data"]["policies"]["placeholder_customers"] == ["0"]
    checked = validate_client("webshop", data_dir=data_dir)
    statuses = dict(checked.checks)["statuses"]
    assert "'Pending payment': " in statuses and "'On hold': " in statuses
    customers = _analysis_matches("webshop", data_dir, truth)
    ids = set(customers["customer_id"])
    assert "0" not in ids  # guests are told apart by their e-mail address
    assert all(i == i.lower() for i in ids if "@" in i)


def test_woocommerce_guest_with_an_account_is_that_customer(tmp_path: Path, data_dir: Path) -> None:
    """A guest order (Customer User ID 0) whose Billing Email is a registered customer's
    (in any case) belongs to that customer: the preset keys customers on the user id and
    joins guests to it by e-mail address, compared in lower case."""
    export = tmp_path / "orders.csv"
    truth = woocommerce_export(export, n_customers=120, n_guests=60, n_shared=20)
    separate = woocommerce_export(tmp_path / "o2.csv", n_customers=120, n_guests=60)
    assert truth.customers < separate.customers  # the shared guests are no customers of their own
    _init(export, "webshop", data_dir)
    customers = _analysis_matches("webshop", data_dir, truth)
    assert not any(i.startswith("user") for i in customers["customer_id"])


def test_placeholder_id_without_preset_is_refused_with_the_fix(tmp_path: Path) -> None:
    export = tmp_path / "orders.csv"
    woocommerce_export(export)
    columns = ColumnMapping(
        customer_id="Customer User ID", date="Order Date", amount="Order Total Amount"
    )
    with pytest.raises(DataError) as caught:
        read_transactions(export, columns)
    message = str(caught.value)
    assert "customer id '0'" in message and "'Customer User ID'" in message
    assert "orders.csv" in message
    assert "placeholder_customers: ['0']" in message
    policies = DataPolicies(placeholder_customers=["0"])
    with read_transactions(export, columns, policies=policies) as tx:
        excluded = dict(tx.quality.excluded)
        assert excluded["placeholder_customer"] > 0
        ids = tx.query(f"SELECT DISTINCT customer_id FROM {tx.table}")["customer_id"]
        assert "0" not in set(ids)


def test_large_real_customer_can_be_accepted(tmp_path: Path) -> None:
    rows = ["klant;datum;bedrag"]
    rows += [f"{c};2024-01-{1 + c % 28:02d};10" for c in range(1, 301)]
    rows += [f"9999;2024-02-{1 + d % 28:02d};10" for d in range(40)]
    export = tmp_path / "orders.csv"
    export.write_text("\n".join(rows) + "\n", encoding="utf-8")
    columns = ColumnMapping(customer_id="klant", date="datum", amount="bedrag")
    with pytest.raises(DataError, match="customer id '9999'"):
        read_transactions(export, columns)
    policies = DataPolicies(large_customers=["9999"])
    with read_transactions(export, columns, policies=policies) as tx:
        assert tx.quality.customers == 301


def test_email_ids_are_case_folded_and_stripped(tmp_path: Path) -> None:
    export = tmp_path / "orders.csv"
    export.write_text(
        "klant;datum;bedrag\n Jan@X.nl ;2024-01-01;10\njan@x.nl;2024-02-01;20\n"
        "K001;2024-01-05;5\nk001;2024-01-06;5\n",
        encoding="utf-8",
    )
    columns = ColumnMapping(customer_id="klant", date="datum", amount="bedrag")
    with read_transactions(export, columns) as tx:
        ids = sorted(tx.query(f"SELECT DISTINCT customer_id FROM {tx.table}")["customer_id"])
    assert ids == ["K001", "jan@x.nl", "k001"]  # only e-mail-like ids are folded


def test_order_lines_summed_keep_distinct_items_at_the_same_price(tmp_path: Path) -> None:
    export = tmp_path / "orders.csv"
    export.write_text(
        "order;klant;datum;aantal;prijs\n"
        "A1;k1;2024-01-01;1;10\nA1;;;1;10\nA1;;;2;5\n"  # two items at 10: both count
        "A2;k2;2024-01-02;1;7\n",
        encoding="utf-8",
    )
    columns = ColumnMapping(
        customer_id="klant", date="datum", order_id="order", quantity="aantal", unit_price="prijs"
    )
    policies = DataPolicies(order_lines="sum")
    with read_transactions(export, columns, policies=policies) as tx:
        frame = tx.query(f"SELECT customer_id, amount FROM {tx.table} ORDER BY customer_id")
        assert frame.to_dict("list") == {"customer_id": ["k1", "k2"], "amount": [30.0, 7.0]}
        assert dict(tx.quality.excluded)["order_line"] == 2


def test_mixed_currencies_are_refused(tmp_path: Path) -> None:
    export = tmp_path / "orders.csv"
    export.write_text(
        "klant;datum;bedrag;valuta\nk1;2024-01-01;10;EUR\nk2;2024-01-02;20;GBP\n",
        encoding="utf-8",
    )
    columns = ColumnMapping(customer_id="klant", date="datum", amount="bedrag", currency="valuta")
    with pytest.raises(DataError, match="2 currencies"):
        read_transactions(export, columns)


def test_currency_column_must_match_client_currency(tmp_path: Path, data_dir: Path) -> None:
    export = tmp_path / "orders_export.csv"
    shopify_export(export, n_customers=40)
    _init(export, "winkel", data_dir)
    config_file = data_dir / "winkel" / "client.yml"
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(text.replace("currency: GBP", "currency: EUR"), encoding="utf-8")
    with pytest.raises(DataError, match="says GBP"):
        validate_client("winkel", data_dir=data_dir)


def test_explicit_policy_overrides_the_preset() -> None:
    base = {
        "name": "x",
        "data": {
            "sources": "o.csv",
            "source": "shopify",
            "columns": {"customer_id": "Email", "date": "Created at", "amount": "Total"},
        },
    }
    with pytest.raises(Exception, match="order_id"):
        ClientConfig.model_validate(base)  # the preset merges order lines: needs order_id
    base["data"]["columns"]["order_id"] = "Name"
    preset = ClientConfig.model_validate(base).data.policies
    assert preset.order_lines == "order_total" and "refunded" in preset.cancelled_statuses
    base["data"]["policies"] = {"cancelled_statuses": ["voided"]}
    custom = ClientConfig.model_validate(base).data.policies
    assert custom.cancelled_statuses == ("voided",)
    assert custom.order_lines == "order_total"  # the rest of the preset still applies


@pytest.mark.parametrize(
    ("names", "source"),
    [
        (["Name", "E-mail", "Financiële Status", "Aangemaakt op", "Lineitem name"], "shopify"),
        (["order_id", "status", "customer_user", "billing_email", "order_total"], "woocommerce"),
        (["Bestelnummer", "Bestelstatus", "Klant-ID", "E-mail (facturering)"], "woocommerce"),
        (["klant", "datum", "bedrag", "status"], None),
    ],
)
def test_shop_exports_recognised_by_their_headers(names: list[str], source: str | None) -> None:
    assert detect_source(names) == source


def test_header_names_compared_without_accents_and_brackets() -> None:
    assert normalise_name("Financiële  Status") == normalise_name("financiele_status")
    assert normalise_name("Email (Billing)") == "emailbilling"


def test_spark_refuses_order_lines() -> None:
    from clvreport.ingest.transactions import _spark_supports

    config = ClientConfig.model_validate(
        {
            "name": "x",
            "engine": "spark",
            "data": {
                "sources": "o.csv",
                "source": "shopify",
                "columns": {"customer_id": "E", "date": "D", "amount": "T", "order_id": "N"},
            },
        }
    )
    with pytest.raises(ConfigError, match="order lines"):
        _spark_supports(config)


def test_report_data_quality_lists_the_statuses(tmp_path: Path, data_dir: Path) -> None:
    from clvreport.report import sections
    from clvreport.report.context import setup

    export = tmp_path / "orders.csv"
    truth = woocommerce_export(export)
    _init(export, "webshop", data_dir)
    ctx = setup(client="webshop", data_dir=data_dir, language="nl", output_dir=tmp_path / "out")
    text = str(sections.data_quality(ctx))
    assert "tbl-statuses" in text
    for value, rows in truth.statuses.items():
        assert value in text and f"{rows:,}".replace(",", ".") in text
    assert "nee, geen aankoop" in text and "Volgende regel van een bestelling" in text


def test_line_item_export_without_preset_names_the_setting(tmp_path: Path) -> None:
    export = tmp_path / "orders.csv"
    export.write_text(
        "Name,Email,Created at,Total,Lineitem name\n"
        "#1001,a@x.nl,2024-01-01 10:00:00 +0100,30.00,Mok\n#1001,a@x.nl,,,Schotel\n"
        "#1002,b@x.nl,2024-01-02 10:00:00 +0100,12.00,Mok\n",
        encoding="utf-8",
    )
    columns = ColumnMapping(customer_id="Email", date="Created at", amount="Total", order_id="Name")
    with pytest.raises(DataError, match="order_lines: order_total"):
        read_transactions(export, columns)
    lines = DataPolicies(order_lines="order_total")
    with read_transactions(export, columns, policies=lines) as tx:
        assert tx.query(f"SELECT sum(amount) AS s FROM {tx.table}")["s"].item() == 42.0


def test_a_small_export_whose_fit_has_an_extreme_draw_is_analysed(
    tmp_path: Path, data_dir: Path
) -> None:
    """This small shop's fit draws parameters with an immense purchase tail; the holdout
    intervals once asked numpy for 51 GiB (counts are now cut at COUNT_CEILING)."""
    export = tmp_path / "orders-2024.csv"
    truth = woocommerce_export(export, n_customers=150, n_guests=60, seed=72)
    _init(export, "small", data_dir)
    customers = _analysis_matches("small", data_dir, truth)
    assert len(customers) == truth.customers


def test_a_preset_client_gets_the_one_off_setting_inside_its_policies(
    tmp_path: Path, data_dir: Path
) -> None:
    export = tmp_path / "orders_export_1.csv"
    shopify_export(export)
    _init(export, "winkel", data_dir)
    config = data_dir / "winkel" / "client.yml"
    text = config.read_text(encoding="utf-8")
    assert "    # one_off_channels: [nalatenschap]" in text
    config.write_text(
        text.replace("    # one_off_channels:", "    one_off_channels:"), encoding="utf-8"
    )
    policies = load_client("winkel", data_dir)[1].data.policies
    assert policies.one_off_channels == ("nalatenschap",)
    assert policies.order_lines == "order_total"  # the preset's policies still hold
