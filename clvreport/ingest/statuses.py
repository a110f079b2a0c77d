"""The status and currency values an ingest saw, counted, and mixed currencies refused.

Validate and the report's data-quality table list every status value with
its rows and whether ``data.policies.cancelled_statuses`` excludes it, so an
analyst sees at once when refunded or failed orders would count as purchases.
"""

from __future__ import annotations

from collections.abc import Sequence

from clvreport.config import ClientConfig, ColumnMapping, DataPolicies
from clvreport.engine import Engine
from clvreport.errors import DataError
from clvreport.ingest.sources import SourceFile

__all__ = ["check_currency", "currency_counts", "raise_mixed_currencies", "status_counts"]


def status_counts(
    engine: Engine, staged: str, policies: DataPolicies
) -> tuple[tuple[str, int, bool], ...]:
    """Every status value of the staged rows: ``(value, rows, excluded)``, most rows first.

    A row without status is listed as ``""``; ``excluded`` tells whether the value is
    one of ``policies.cancelled_statuses`` (compared case-insensitively).
    """
    frame = engine.query(
        f"SELECT coalesce(status, '') AS status, count(*) AS n FROM {staged} "
        "GROUP BY coalesce(status, '') ORDER BY n DESC, status"
    )
    excluded = {s.strip().lower() for s in policies.cancelled_statuses}
    return tuple(
        (str(value), int(n), str(value).lower() in excluded)
        for value, n in zip(frame["status"], frame["n"], strict=True)
    )


def currency_counts(engine: Engine, staged: str, kept: str) -> tuple[tuple[str, int], ...]:
    """Every currency value of the kept rows: ``(value, rows)``, most rows first."""
    frame = engine.query(
        f"SELECT upper(currency) AS currency, count(*) AS n FROM {staged} "
        f"WHERE {kept} AND currency IS NOT NULL GROUP BY upper(currency) ORDER BY n DESC, currency"
    )
    return tuple(
        (str(value), int(n)) for value, n in zip(frame["currency"], frame["n"], strict=True)
    )


def raise_mixed_currencies(
    currencies: Sequence[tuple[str, int]], files: Sequence[SourceFile], columns: ColumnMapping
) -> None:
    """Refuse amounts in more than one currency: they cannot be added up.

    Raises
    ------
    DataError
        Naming the column and the currencies with their rows.
    """
    listing = ", ".join(f"{value} ({n:,} rows)" for value, n in currencies)
    raise DataError(
        f"the amounts are in {len(currencies)} currencies (column '{columns.currency}'): "
        f"{listing}; they cannot be added up",
        path=files[0].path if len(files) == 1 else None,
        hint="export the orders of one currency (one store) per client, or convert the "
        "amounts to one currency before the export",
    )


def check_currency(currencies: Sequence[tuple[str, int]], config: ClientConfig) -> None:
    """Refuse a currency column whose value is not the client's ``currency``.

    Raises
    ------
    DataError
        Naming the column, the value found and the key to set.
    """
    if not currencies or currencies[0][0] == config.currency:
        return
    found = currencies[0][0]
    raise DataError(
        f"the export's currency column '{config.data.columns.currency}' says {found}, "
        f"client.yml says currency: {config.currency}",
        hint=f"set currency: {found} in client.yml (the amounts are in {found})",
    )
