"""``clvreport validate``: check a client's config, brand and data without rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from clvreport.brand import load_brand
from clvreport.config import load_client
from clvreport.ingest import load_transactions

__all__ = ["ValidationResult", "validate_client"]

WARNING_TEXT = {
    "no_repeat_customers": "no customer bought twice: the report will show history only",
    "date_format_ambiguous": "dates fit both day-first and month-first; read as day-first",
}


@dataclass
class ValidationResult:
    """What :func:`validate_client` checked.

    Attributes
    ----------
    checks
        ``(what, detail)`` for every check that passed.
    warnings
        Conditions that do not stop a report but deserve a look.
    """

    checks: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def validate_client(client: str, *, data_dir: Path | str = "data") -> ValidationResult:
    """Check that ``client`` can be reported on: config, brand and transactions.

    Parameters
    ----------
    client
        Client folder name under ``data_dir``.
    data_dir
        Folder with one sub-folder per client.

    Returns
    -------
    ValidationResult
        The checks that passed and any warnings.

    Raises
    ------
    ClvReportError
        The first problem found, naming the file, key or row and the fix.

    Examples
    --------
    >>> validate_client("demo").ok  # doctest: +SKIP
    True
    """
    result = ValidationResult()
    client_dir, config = load_client(client, data_dir)
    result.checks.append(("client.yml", f"{config.name} ({config.language}, {config.currency})"))
    brand = load_brand(client_dir, config.brand)
    result.checks.append(("brand", f"{brand.name}: {brand.primary}, {brand.base_font}"))
    with load_transactions(config, client_dir) as transactions:
        quality = transactions.quality
        result.checks.append(
            (
                "transactions",
                f"{quality.rows_kept:,} of {quality.rows_read:,} rows used, "
                f"{quality.customers:,} customers, "
                f"{transactions.first_date} – {transactions.as_of}",
            )
        )
        for reason, rows in quality.excluded:
            if rows:
                result.warnings.append(f"{rows:,} rows excluded: {reason.replace('_', ' ')}")
        result.warnings += [WARNING_TEXT.get(code, code) for code in quality.warnings]
    return result
