"""``clvreport validate``: check a client's config, brand and data without rendering.

:func:`check_report_config` holds the checks a report would otherwise only fail
on deep inside the notebook or the renderer (segment rules, recommendation
overrides, the logo, the as-of date); :func:`clvreport.render.render_report`
runs them too, before any work, so ``validate`` and ``report`` fail alike.
"""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from clvreport.audiences import audience
from clvreport.brand import ReportBrand, load_brand
from clvreport.config import ClientConfig, load_client
from clvreport.dates import parse_date
from clvreport.errors import ConfigError
from clvreport.ingest import load_transactions

__all__ = [
    "ValidationResult",
    "check_logo",
    "check_recommendations",
    "check_report_config",
    "exceptional_lines",
    "holdout_line",
    "ingest_checks",
    "shop_checks",
    "validate_client",
]

WARNING_TEXT = {
    "no_repeat_customers": "no customer bought twice: the report will show history only",
    "date_format_ambiguous": "dates fit both day-first and month-first; read as day-first",
}
_RASTER_LOGOS = {".png", ".jpg", ".jpeg", ".gif", ".webp"}


@dataclass
class ValidationResult:
    """What :func:`validate_client` checked.

    Attributes
    ----------
    checks
        ``(what, detail)`` for every check that passed.
    warnings
        Conditions that do not stop a report but deserve a look.
    customers
        The customers (donors, subscribers) the data holds, once read.
    """

    checks: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    customers: int | None = None


def _known_actions(config: ClientConfig) -> list[str]:
    from clvreport.recommendations import load_action_rules

    return sorted(load_action_rules(config.actions))


def check_recommendations(config: ClientConfig, path: Path | None = None) -> str:
    """Check the ``recommendations:`` and ``actions:`` overrides of ``client.yml``.

    Returns
    -------
    str
        A one-line summary for ``validate``.

    Raises
    ------
    ConfigError
        An unknown action (listing the allowed ones), a priority that is not a
        whole number, a segment that does not exist, or any error of
        :class:`clvreport.recommendations.PlanRules`.

    Examples
    --------
    >>> from clvreport.config import ClientConfig
    >>> columns = {"customer_id": "c", "date": "d", "amount": "a"}
    >>> config = ClientConfig.model_validate({
    ...     "name": "Acme", "recommendations": {"champions": {"priority": "high"}},
    ...     "data": {"sources": "t.csv", "columns": columns},
    ... })
    >>> try:
    ...     check_recommendations(config)
    ... except ConfigError as exc:
    ...     print(exc.message)
    recommendations.champions.priority: must be a whole number (1 = most urgent), got 'high'
    """
    from clvreport.recommendations import PlanRules
    from clvreport.segments import load_segment_rules

    actions = _known_actions(config)  # also checks the actions: overrides
    segments = load_segment_rules(config.segments, path=path).codes
    for segment, rule in (config.recommendations or {}).items():
        key = f"recommendations.{segment}"
        if segment not in segments:
            raise ConfigError(
                f"{key}: '{segment}' is not a segment",
                path=path,
                hint=f"use one of: {', '.join(segments)}",
            )
        if rule is None:
            continue
        if not isinstance(rule, dict):
            raise ConfigError(
                f"{key}: expected a mapping with 'action' and/or 'priority', got {rule!r}",
                path=path,
                hint=f"for example: recommendations: {{{segment}: {{action: reminder, "
                "priority: 2}}",
            )
        unknown = sorted(set(rule) - {"action", "priority"})
        if unknown:
            raise ConfigError(
                f"{key}.{unknown[0]}: unknown key",
                path=path,
                hint="allowed here: action, priority",
            )
        if "action" in rule and rule["action"] not in actions:
            raise ConfigError(
                f"{key}.action: '{rule['action']}' is not a known action",
                path=path,
                hint=f"use one of: {', '.join(actions)}; or define it under actions: "
                "with at least channel and success_rate",
            )
        if "priority" in rule:
            priority = rule["priority"]
            if (
                isinstance(priority, bool)
                or not isinstance(priority, numbers.Real)
                or priority != int(priority)
            ):
                raise ConfigError(
                    f"{key}.priority: must be a whole number (1 = most urgent), got {priority!r}",
                    path=path,
                    hint=f"for example: recommendations: {{{segment}: {{priority: 1}}}}",
                )
    rules = PlanRules.from_config(config)
    return f"{len(rules.segments)} segments with an action, {len(rules.actions)} actions"


def brand_line(brand: ReportBrand, brand_file: str = "_brand.yml") -> str:
    """What ``validate`` says of the brand: the default, or the client's own style.

    Examples
    --------
    >>> from clvreport.brand import TEMPLATES_DIR, load_brand
    >>> brand_line(load_brand(TEMPLATES_DIR / "no-such-client"))
    "default (no _brand.yml; add one for the client's colours and logo)"
    """
    if brand.is_default:
        return f"default (no {brand_file}; add one for the client's colours and logo)"
    from clvreport.brand import TEMPLATES_DIR, load_brand

    colours = f"{brand.primary}, {brand.base_font}"
    if brand.colors == load_brand(TEMPLATES_DIR).colors:
        colours = f"the default colours ({brand.primary}), {brand.base_font}"
    logo = "" if brand.logo is not None else "; no logo of its own (a plain cover)"
    return f"{brand.name}: {colours}{logo}"


def check_logo(logo: Path | None, key: str = "logo", brand_path: Path | None = None) -> None:
    """Check that ``logo`` is an image the renderers can decode.

    Raises
    ------
    ConfigError
        Naming the file, when it is not a readable PNG/JPEG/GIF/WebP or SVG.

    Examples
    --------
    >>> import tempfile
    >>> logo = Path(tempfile.mkdtemp()) / "logo.png"
    >>> _ = logo.write_bytes(b"not a picture")
    >>> try:
    ...     check_logo(logo)
    ... except ConfigError as exc:
    ...     print(exc.hint)
    export the logo again as SVG or PNG and check that it opens in an image viewer
    """
    if logo is None:
        return
    problem = None
    suffix = logo.suffix.lower()
    if suffix == ".svg":
        problem = _svg_problem(logo)
    elif suffix in _RASTER_LOGOS:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(logo) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            problem = f"not a readable {suffix.lstrip('.').upper()} image ({exc})"
    if problem is not None:
        raise ConfigError(
            f"{key}: the logo file '{logo}' is {problem}",
            path=brand_path,
            hint="export the logo again as SVG or PNG and check that it opens in an image viewer",
        )


def _svg_problem(path: Path) -> str | None:
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError, UnicodeDecodeError) as exc:
        return f"not a readable SVG image ({exc})"
    if not root.tag.rsplit("}", 1)[-1] == "svg":
        return "not an SVG image (its root element is not <svg>)"
    return None


def check_report_config(
    config: ClientConfig, client_dir: Path, *, as_of: str | dt.date | None = None
) -> tuple[ReportBrand, list[tuple[str, str]]]:
    """Everything about a client's configuration a report could fail on, checked up front.

    Parameters
    ----------
    config, client_dir
        From :func:`clvreport.config.load_client`.
    as_of
        A report date given on the command line (``YYYY-MM-DD``).

    Returns
    -------
    tuple
        The resolved brand and ``(check, detail)`` lines for ``validate``.

    Raises
    ------
    ConfigError
        The first problem, naming the key and the fix.

    Examples
    --------
    >>> client_dir, config = load_client("demo")  # doctest: +SKIP
    >>> brand, checks = check_report_config(config, client_dir)  # doctest: +SKIP
    >>> [name for name, _ in checks]  # doctest: +SKIP
    ['segments', 'recommendations', 'brand']
    """
    from clvreport.segments import load_segment_rules

    checks: list[tuple[str, str]] = []
    parse_date(as_of, "--as-of")
    config_path = client_dir / "client.yml"
    segments = load_segment_rules(config.segments, path=config_path)
    checks.append(("segments", f"{len(segments.codes)} segments"))
    checks.append(("recommendations", check_recommendations(config, config_path)))
    from clvreport.ingest.sources import resolve_sources

    # the files client.yml names exist and lie inside the folder (links included)
    resolve_sources(config.data.sources, base_dir=client_dir, format=config.data.format)
    if config.contacts is not None:
        resolve_sources(config.contacts.sources, base_dir=client_dir)
    brand = load_brand(client_dir, config.brand)
    brand_path = client_dir / config.brand
    check_logo(brand.logo, "logo", brand_path)
    if brand.header_logo != brand.logo:
        check_logo(brand.header_logo, "header logo", brand_path)
    checks.append(("brand", brand_line(brand, config.brand)))
    return brand, checks


EXCEPTIONAL_EXAMPLES = 5
"""Exceptional orders ``validate`` names (the largest)."""


def exceptional_lines(transactions: Any, examples: int = EXCEPTIONAL_EXAMPLES) -> str | None:
    """The largest exceptional orders in one line, for ``validate``; ``None`` without any.

    Parameters
    ----------
    transactions
        A :class:`~clvreport.ingest.Transactions` (its ``exceptional_orders``
        and ``exceptional_count``).
    examples
        How many orders to name.

    Returns
    -------
    str or None
        E.g. ``"exceptional orders, largest first: customer C1 on 2024-05-05:
        168,469.60 (58,093 times their usual order of 2.90)"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> orders = pd.DataFrame({"customer_id": ["C1"], "order_date": [pd.Timestamp("2024-05-05")],
    ...                        "amount": [168469.6], "usual": [2.9], "reference": [51.0]})
    >>> print(exceptional_lines(SimpleNamespace(exceptional_orders=orders, exceptional_count=1)))
    exceptional orders, largest first: customer C1 on 2024-05-05: 168,469.60 (58,093 times \
their usual order of 2.90)
    """
    orders = getattr(transactions, "exceptional_orders", None)
    if orders is None or orders.empty:
        return None
    shown = [
        f"customer {row.customer_id} on {pd.Timestamp(row.order_date).date()}: "
        f"{row.amount:,.2f} ({row.amount / row.usual:,.0f} times their usual order of "
        f"{row.usual:,.2f})"
        for row in orders.head(examples).itertuples()
    ]
    count = int(getattr(transactions, "exceptional_count", len(orders)) or len(orders))
    more = f"; and {count - len(shown):,} more" if count > len(shown) else ""
    return "exceptional orders, largest first: " + "; ".join(shown) + more


def _flag_messages() -> dict[str, str]:
    try:
        from clvreport.ingest import quality
    except ImportError:  # pragma: no cover
        return {}
    return dict(getattr(quality, "FLAG_MESSAGES", {}) or {})


def ingest_checks(
    quality: Any,
    line: tuple[str, str],
    *,
    transactions: Any = None,
    outliers: str = "flag",
    skip_warnings: tuple[str, ...] = (),
) -> ValidationResult:
    """What ``validate`` says of a file read by the common ingest, whatever the audience.

    Parameters
    ----------
    quality
        The :class:`~clvreport.ingest.DataQuality` of the read.
    line
        The ``(check, detail)`` line summing the read up (the last check).
    transactions
        The :class:`~clvreport.ingest.Transactions`, for its exceptional orders.
    outliers
        ``data.policies.outliers``: exceptional orders are named with ``flag``.
    skip_warnings
        Warning codes of :data:`WARNING_TEXT` that do not apply to the audience.

    Returns
    -------
    ValidationResult
        The statuses, one-off gifts, currencies and the summing-up line; the
        exclusions, flags and warnings.

    Examples
    --------
    >>> from clvreport.ingest import DataQuality
    >>> quality = DataQuality(10, 9, (("duplicate", 1),), 0, 3, 0, ("no_repeat_customers",))
    >>> result = ingest_checks(quality, ("rows", "9 of 10"), skip_warnings=("no_repeat_customers",))
    >>> result.checks, result.warnings
    ([('rows', '9 of 10')], ['1 rows excluded: duplicate'])
    """
    result = ValidationResult()
    if quality.statuses:
        result.checks.append(("statuses", "; ".join(quality.status_lines)))
    if quality.one_off:
        listing = "; ".join(
            f"'{value}': {n:,} rows, {amount:,.2f}" for value, n, amount in quality.one_off
        )
        result.checks.append(
            ("one-off gifts", f"{listing} (left out of the model, reported apart)")
        )
    if quality.currencies:
        listing = ", ".join(f"{c} ({n:,} rows)" for c, n in quality.currencies)
        result.checks.append(("currency", listing))
    if quality.returns_netted:
        netted = f"{quality.returns_netted:,} rows (negative amounts or credit notes)"
        result.checks.append(("returns", f"{netted} netted, not purchases"))
    result.checks.append(line)
    for reason, rows in quality.excluded:
        if rows:
            result.warnings.append(f"{rows:,} rows excluded: {reason.replace('_', ' ')}")
    messages = _flag_messages()
    for code, count in getattr(quality, "flagged", ()) or ():
        if count:
            text = messages.get(code, code.replace("_", " "))
            result.warnings.append(f"{count:,} flagged: {text}")
    if outliers == "flag" and transactions is not None:
        listed = exceptional_lines(transactions)
        if listed:
            result.warnings.append(listed)
    result.warnings += [
        WARNING_TEXT.get(code, code) for code in quality.warnings if code not in skip_warnings
    ]
    return result


HOLDOUT_TEXT = {
    "shorter_than_period": "holdout_months ({months}) is shorter than one {period}: the report "
    "cannot check the model on held-back data; hold back whole {period}s",
    "too_little_history": "the history is too short to hold back {months} months and fit the "
    "model on the rest: the report will not check the model (holdout_months: 0 says so)",
    "too_little_data": "too few {people} before {end} to fit the model on: the report will not "
    "check the model on the last {months} months",
}
"""What ``validate`` says when the report will have no holdout check (:data:`NOT_CHECKED`)."""


def holdout_line(check: Any, months: int, period: str, people: str) -> tuple[str, str] | str:
    """The holdout a period model's report will show: a check line, or a warning.

    Parameters
    ----------
    check
        The :class:`~clvreport.period_holdout.PeriodHoldout` the report computes.
    months, period
        ``holdout_months`` and the model's period.
    people
        What the model counts (``"donors"``, ``"subscriptions"``).

    Returns
    -------
    tuple or str
        ``("holdout", detail)`` when checked or switched off, else the warning.

    Examples
    --------
    >>> from clvreport.period_holdout import PeriodHoldout
    >>> holdout_line(PeriodHoldout(reason="shorter_than_period"), 6, "year", "donors")
    'holdout_months (6) is shorter than one year: the report cannot check the model on \
held-back data; hold back whole years'
    """
    if check.reason == "off":
        return ("holdout", "off (holdout_months: 0): the report does not check the model")
    if check.reason is not None:
        end = check.calibration_end or "the holdout"
        return HOLDOUT_TEXT[check.reason].format(
            months=months, period=period, people=people, end=end
        )
    return (
        "holdout",
        f"the model is fitted up to {check.calibration_end} and checked on the "
        f"{check.holdout_periods} {period}(s) after it",
    )


def shop_checks(config: ClientConfig, client_dir: Path, as_of: dt.date | None) -> ValidationResult:
    """What the report of a shop (``business: transactions``) reads and fits, checked.

    Parameters
    ----------
    config, client_dir
        From :func:`clvreport.config.load_client`.
    as_of
        The report date given on the command line (``None``: ``config.as_of``).

    Returns
    -------
    ValidationResult

    Raises
    ------
    ClvReportError
        As the report would: unreadable files, a report date long after the
        data, a holdout without data.

    Examples
    --------
    >>> client_dir, config = load_client("demo")  # doctest: +SKIP
    >>> shop_checks(config, client_dir, None).checks[-1][0]  # doctest: +SKIP
    'transactions'
    """
    from clvreport.analysis import calibration_end_for, check_holdout_has_data, check_report_date

    with load_transactions(config, client_dir, as_of=as_of or config.as_of) as transactions:
        quality = transactions.quality
        line = (
            "transactions",
            f"{quality.rows_kept:,} of {quality.rows_read:,} rows used, "
            f"{quality.customers:,} customers, "
            f"{transactions.first_date} – {transactions.as_of}",
        )
        result = ingest_checks(
            quality,
            line,
            transactions=transactions,
            outliers=config.data.policies.outliers,
        )
        result.customers = quality.customers
        check_report_date(transactions.as_of, transactions.last_date)
        end = calibration_end_for(
            transactions.first_date, transactions.as_of, config.holdout_months
        )
        check_holdout_has_data(end, transactions.last_date, config.holdout_months)
    return result


def validate_client(
    client: str, *, data_dir: Path | str = "data", as_of: str | None = None
) -> ValidationResult:
    """Check that ``client`` can be reported on: config, brand and data, as its report reads them.

    Parameters
    ----------
    client
        Client folder name under ``data_dir``.
    data_dir
        Folder with one sub-folder per client.
    as_of
        A report date ``YYYY-MM-DD`` to check the data against (default from
        ``client.yml``, else the last transaction date).

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
    >>> validate_client("demo").checks[0][0]  # doctest: +SKIP
    'client.yml'
    """
    result = ValidationResult()
    as_of_date = parse_date(as_of, "--as-of")
    client_dir, config = load_client(client, data_dir)
    result.checks.append(("client.yml", f"{config.name} ({config.language}, {config.currency})"))
    _, checks = check_report_config(config, client_dir, as_of=as_of_date)
    result.checks += checks
    # each audience reads and checks its data as its report does (the one dispatch point)
    data = audience(config.business).validation_checks(config, client_dir, as_of_date)
    result.checks += data.checks
    result.warnings += data.warnings
    customers = data.customers
    if customers is not None and customers < MIN_CUSTOMERS:
        result.warnings.append(
            f"only {customers} customers: the report needs at least "
            f"{MIN_CUSTOMERS} to say anything about groups of them (the best 20%, segments)"
        )
    if config.currency != "EUR" and not any(
        v is not None for v in config.costs.model_dump().values()
    ):
        result.warnings.append(
            "the contact costs of the actions are euro amounts "
            "(clvreport/rules/recommendations.yml); set costs: in client.yml in "
            f"{config.currency}, or the plan prices contacts as if in euros"
        )
    return result


MIN_CUSTOMERS = 30
"""Below this many customers validate warns that the report can say little about groups."""
