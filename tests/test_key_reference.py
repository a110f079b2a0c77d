"""data/README.md is the one reference of the client.yml keys: it lists every key."""

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from clvreport.config import ClientConfig

README = Path(__file__).parents[1] / "data" / "README.md"


def _model(annotation):
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    found = []
    for name, field in model.model_fields.items():
        sub = _model(field.annotation)
        if sub is not None and sub.model_fields:
            found += keys(sub, f"{prefix}{name}.")
        else:
            found.append(prefix + name)
    return found


def test_data_readme_lists_every_client_yml_key():
    rows = [
        line.split("|")[1]
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    ]

    def listed(key: str) -> bool:
        parent, _, leaf = key.rpartition(".")
        for cell in rows:
            names = re.findall(r"`([^`]+)`", cell)
            if key in names:
                return True
            if parent and leaf in names and any(n.startswith(parent + ".") for n in names):
                return True  # `data.columns.order_id`, `channel`, ...
        return False

    missing = [key for key in keys(ClientConfig) if not listed(key)]
    assert missing == [], f"data/README.md does not list {missing}"


def test_the_examples_are_named_as_four_and_one_reference():
    readme = (README.parents[1] / "README.md").read_text(encoding="utf-8")
    data = README.read_text(encoding="utf-8")
    for text in (readme, data):
        assert "two examples" not in text
    for client in ("demo", "cdnow", "goededoel", "abonnement"):
        assert f"`{client}`" in data.split("## Adding a client")[0]
        config = (README.parent / client / "client.yml").read_text(encoding="utf-8")
        assert "explains the keys" not in config and "example of every key" not in config
