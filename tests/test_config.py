import os
from pathlib import Path

import pytest

from clvreport.config import list_clients, load_client, load_config, resolve_client_dir
from clvreport.errors import ClientNotFoundError, ConfigError

VALID = """\
name: Voorbeeld B.V.
data:
  sources: orders.csv
  columns: {customer_id: klant, date: datum, amount: bedrag}
"""


def write(folder: Path, text: str, name: str = "client.yml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_config_gets_documented_defaults(tmp_path):
    config = load_config(write(tmp_path, VALID))
    assert config.name == "Voorbeeld B.V."
    assert config.language == "nl"
    assert config.currency == "EUR"
    assert config.horizon_months == 12
    assert config.discount_rate == pytest.approx(0.10)
    assert config.data.sources == ("orders.csv",)
    assert config.data.policies.returns == "net"
    assert "geannuleerd" in config.data.policies.cancelled_statuses
    assert config.prepared_by is None
    assert config.xlsx_max_rows == 5000
    assert config.data.columns.extra is None
    assert config.costs.phone is None and config.actions == {}


def test_action_list_and_economics_keys(tmp_path):
    text = VALID.replace("amount: bedrag}", "amount: bedrag, extra: [email, naam]}") + (
        "prepared_by: Analist B.V.\n"
        "xlsx_max_rows: 1000\n"
        "costs: {phone: 9.5, discount_share: 0.15}\n"
        "actions: {win_back_personal: {channel: email, success_rate: 0.1}}\n"
    )
    config = load_config(write(tmp_path, text))
    assert config.data.columns.extra == ("email", "naam")
    assert config.prepared_by == "Analist B.V."
    assert config.xlsx_max_rows == 1000
    assert config.costs.phone == 9.5 and config.costs.discount_share == 0.15
    assert config.actions["win_back_personal"]["channel"] == "email"
    single = load_config(
        write(tmp_path, VALID.replace("amount: bedrag}", "amount: bedrag, extra: email}"))
    )
    assert single.data.columns.extra == ("email",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (VALID.replace("name: Voorbeeld B.V.\n", ""), "name: required key is missing"),
        (VALID + "langauge: en\n", "langauge: unknown key; did you mean 'language'?"),
        (VALID + "language: fr\n", "language: Input should be 'nl' or 'en'"),
        (VALID + "currency: euro\n", "currency: use a three-letter ISO 4217 code"),
        (VALID + "discount_rate: 1.5\n", "discount_rate: Input should be less than 1"),
        (
            VALID + "horizon_months: 0\n",
            "horizon_months: Input should be greater than or equal to 1",
        ),
        (
            VALID + "as_of: 31-12-2024\n",
            "as_of: '31-12-2024' is not a date: expected a date written YYYY-MM-DD",
        ),
        (
            VALID.replace("amount: bedrag", "bedrag: bedrag"),
            "data.columns.bedrag: unknown key",
        ),
        (
            VALID.replace(", amount: bedrag", ""),
            "give 'amount', or both 'quantity' and 'unit_price'",
        ),
        (
            VALID.replace("sources: orders.csv", "sources: ../other/orders.csv"),
            "must be a path inside the client folder",
        ),
        (
            VALID.replace("sources: orders.csv", "sources: /etc/passwd"),
            "must be a path inside the client folder",
        ),
        (VALID + "costs: {phone: -1}\n", "costs.phone: Input should be greater than or equal to 0"),
        (VALID + "costs: {fone: 8}\n", "costs.fone: unknown key; did you mean 'phone'?"),
        (VALID + "costs: {discount_share: 1.5}\n", "costs.discount_share: Input should be less"),
        (VALID + "xlsx_max_rows: 0\n", "xlsx_max_rows: Input should be greater than or equal to 1"),
        (VALID + "prepared_by: [a, b]\n", "prepared_by: Input should be a valid string"),
        (
            VALID.replace("amount: bedrag}", "amount: bedrag, extra: [email, Email]}"),
            "extra: a column is listed twice",
        ),
        (
            VALID.replace("amount: bedrag}", "amount: bedrag, extra: [klant]}"),
            "extra: 'klant' is already mapped to another field",
        ),
        (
            VALID.replace("amount: bedrag}", "amount: bedrag, extra: [segment]}"),
            "extra: 'segment' is the name of a column the report computes",
        ),
    ],
)
def test_invalid_config_names_file_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert expected in message


def test_unknown_key_lists_allowed_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"Allowed here: .*customer_id.*unit_price"):
        load_config(write(tmp_path, VALID.replace("amount: bedrag", "amount: bedrag, klant: x")))


def test_yaml_syntax_error_gives_line(tmp_path):
    with pytest.raises(ConfigError, match=r"not valid YAML at line 2"):
        load_config(write(tmp_path, "name: x\ndata: a: b\n"))


def test_top_level_must_be_mapping(tmp_path):
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(write(tmp_path, "- just\n- a list\n"))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "client.yml")


@pytest.fixture
def data_dir(tmp_path) -> Path:
    root = tmp_path / "data"
    write(root / "acme", VALID)
    write(root / "beta_shop", VALID)
    (root / "no_config").mkdir()
    return root


def test_list_clients_only_folders_with_config(data_dir):
    assert list_clients(data_dir) == ["acme", "beta_shop"]


def test_load_client_returns_folder_and_config(data_dir):
    folder, config = load_client("acme", data_dir)
    assert folder == (data_dir / "acme").resolve()
    assert config.name == "Voorbeeld B.V."


@pytest.mark.parametrize(
    "name", ["../etc", "/etc", "acme/../beta_shop", "..", ".hidden", "", "a b", "acme;rm"]
)
def test_malicious_client_names_are_refused(data_dir, name):
    with pytest.raises(ClientNotFoundError, match="not a valid client name"):
        resolve_client_dir(name, data_dir)


def test_unknown_client_lists_known_and_suggests(data_dir):
    with pytest.raises(ClientNotFoundError) as info:
        resolve_client_dir("acm", data_dir)
    message = str(info.value)
    assert "unknown client 'acm'" in message
    assert "did you mean 'acme'?" in message
    assert "known clients: acme, beta_shop" in message


def test_symlink_leaving_data_dir_is_refused(data_dir, tmp_path):
    outside = tmp_path / "outside"
    write(outside, VALID)
    os.symlink(outside, data_dir / "sneaky")
    with pytest.raises(ClientNotFoundError, match="points outside"):
        resolve_client_dir("sneaky", data_dir)


def test_duckdb_memory_limit_is_a_client_setting(tmp_path):
    import shutil

    from clvreport.ingest import load_transactions

    client = tmp_path / "big"
    shutil.copytree(Path(__file__).parents[1] / "data" / "demo", client)
    text = (client / "client.yml").read_text(encoding="utf-8")
    (client / "client.yml").write_text(text + "\nduckdb:\n  memory_limit: 2GB\n", "utf-8")
    client_dir, config = load_client("big", tmp_path)
    assert config.duckdb.memory_limit == "2GB"
    with load_transactions(config, client_dir) as tx:
        limit = tx.engine.query("SELECT current_setting('memory_limit') AS m").iloc[0, 0]
    assert limit.startswith("1.8")  # 2 GB in GiB


def test_a_duckdb_memory_limit_without_a_unit_is_refused(tmp_path):
    import shutil

    client = tmp_path / "big"
    shutil.copytree(Path(__file__).parents[1] / "data" / "demo", client)
    text = (client / "client.yml").read_text(encoding="utf-8")
    (client / "client.yml").write_text(text + "\nduckdb:\n  memory_limit: lots\n", "utf-8")
    with pytest.raises(ConfigError, match="memory_limit"):
        load_client("big", tmp_path)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", "auto"),
        ("season: off\n", "off"),
        ("season: 'off'\n", "off"),
        ("season: auto\n", "auto"),
    ],
)
def test_season_is_auto_unless_switched_off(tmp_path, line, expected):
    # YAML reads an unquoted off as false: it still means off
    assert load_config(write(tmp_path, VALID + line)).season == expected


def test_an_unknown_season_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="season"):
        load_config(write(tmp_path, VALID + "season: monthly\n"))
