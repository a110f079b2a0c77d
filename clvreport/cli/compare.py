"""``clvreport compare``: two stored reports of a client side by side, without refitting.

Reads ``customers.parquet`` and ``model.json`` of both report folders under
``<out>/<client>/`` (:mod:`clvreport.comparison`) and prints the key figures
then and now, the earlier forecast against what happened and the largest
moves between segments; ``--json`` prints ``comparison.json``'s content with
the migration table under ``migration``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from clvreport.cli._app import app, escape, user_errors
from clvreport.comparison import (
    Comparison,
    StoredReport,
    Unavailable,
    compare_reports,
    list_reports,
    load_report,
)
from clvreport.dates import parse_date
from clvreport.errors import ConfigError

__all__ = ["compare"]

_FLOWS = 10


def _date(value: str | None, option: str) -> dt.date | None:
    return parse_date(value, option)


def _load(folder: Path, day: dt.date) -> StoredReport:
    report = load_report(folder, day)
    if isinstance(report, Unavailable):
        raise ConfigError(
            f"the report of {day.isoformat()} in {folder} cannot be compared: "
            f"it lacks {', '.join(report.missing)}",
            hint="render that report again with this version of clvreport",
        )
    return report


def _pick(
    client_out: Path, start: dt.date | None, end: dt.date | None
) -> tuple[Path, dt.date, Path, dt.date]:
    reports = list_reports(client_out)
    dates = [day for day, _ in reports]
    available = ", ".join(day.isoformat() for day in dates) or "none"
    if len(reports) < 2:
        raise ConfigError(
            f"comparing needs two reports in {client_out}; found: {available}",
            hint="render the client's report for two dates (clvreport report --as-of ...)",
        )
    by_date = dict(reports)
    for day, option in ((start, "--from"), (end, "--to")):
        if day is not None and day not in by_date:
            raise ConfigError(
                f"no report of {day.isoformat()} in {client_out}",
                hint=f"{option} takes one of: {available}",
            )
    end = end or dates[-1]
    if start is None:
        earlier = [day for day in dates if day < end]
        if not earlier:
            raise ConfigError(
                f"there is no report before {end.isoformat()} in {client_out}",
                hint=f"reports there: {available}",
            )
        start = earlier[-1]
    if start >= end:
        raise ConfigError(
            f"--from {start.isoformat()} is not before --to {end.isoformat()}",
            hint="give the earlier report with --from",
        )
    return by_date[start], start, by_date[end], end


def _money(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:,.0f}"


def _print(comparison: Comparison, console: Console) -> None:
    then, now = comparison.then, comparison.now
    figures = Table(title="Key figures", title_justify="left")
    figures.add_column("figure")
    figures.add_column(then.as_of.isoformat(), justify="right")
    figures.add_column(now.as_of.isoformat(), justify="right")
    for key in (
        "customers",
        "active_customers",
        "revenue_last_year",
        "base_value",
        "at_risk_customers",
        "value_at_stake",
        "top_share",
    ):
        before, after = getattr(then, key), getattr(now, key)
        if key == "top_share":
            cells = [f"{v:.1%}" if v is not None else "–" for v in (before, after)]
        else:
            cells = [_money(v) for v in (before, after)]
        figures.add_row(key, *cells)
    console.print(figures)
    console.print(
        f"new customers since {then.as_of.isoformat()}: {comparison.new_customers:,}; "
        f"missing now: {comparison.missing_customers:,}; "
        f"changed history: {comparison.changed_history:,}; "
        f"newly at risk: {len(comparison.newly_at_risk):,}"
    )
    if comparison.forecast is None:
        console.print(f"the report of {then.as_of.isoformat()} had no model: no forecast to check")
    else:
        check = Table(
            title=f"Forecast of {then.as_of.isoformat()} for the {comparison.days} days since",
            title_justify="left",
        )
        for column in (
            "segment",
            "customers",
            "predicted",
            "90% range",
            "actual",
            "predicted revenue",
            "actual revenue",
        ):
            check.add_column(column, justify="left" if column == "segment" else "right")
        for row in comparison.forecast.itertuples(index=False):
            check.add_row(
                escape(str(row.segment)),
                f"{row.customers:,}",
                f"{row.predicted_purchases:,.0f}",
                f"{_money(row.purchases_low)}–{_money(row.purchases_high)}",
                f"{row.actual_purchases:,.0f}",
                _money(row.predicted_revenue),
                _money(row.actual_revenue),
            )
        console.print(check)
    flows = Table(title="Largest moves between segments (by value then)", title_justify="left")
    for column in ("from", "to", "customers", "value then", "value now"):
        flows.add_column(column, justify="left" if column in ("from", "to") else "right")
    moved = comparison.migration[
        comparison.migration["from_segment"] != comparison.migration["to_segment"]
    ]
    for row in moved.head(_FLOWS).itertuples(index=False):
        flows.add_row(
            escape(str(row.from_segment)),
            escape(str(row.to_segment)),
            f"{row.customers:,}",
            _money(row.value_before),
            _money(row.value),
        )
    console.print(flows)


@app.command()
@user_errors
def compare(
    client: Annotated[str, typer.Option("--client", "-c", help="Client folder name under data/.")],
    start: Annotated[
        str | None,
        typer.Option("--from", help="Date of the earlier report (default: the one before --to)."),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Date of the later report (default: the latest).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Root folder of the reports.")] = Path(
        "output"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Compare two stored reports of a client: key figures, forecast against actual, migration."""
    client_out = out / client
    old_folder, old_day, new_folder, new_day = _pick(
        client_out, _date(start, "--from"), _date(end, "--to")
    )
    previous = _load(old_folder, old_day)
    current = _load(new_folder, new_day)
    comparison = compare_reports(
        previous,
        current.customers,
        current.as_of,
        now=current.figures,
        model_now=current.model.get("model"),
        # the later report's margin and control-group minimum: the actions measured
        # as its report measured them (the reach figures need the client's contacts
        # export and are in that report's comparison.json)
        margin=float(current.model.get("gross_margin") or 1.0),
        min_control=int((current.model.get("control_groups") or {}).get("min_size") or 30),
    )
    if as_json:
        data = comparison.to_dict()
        data["migration"] = json.loads(comparison.migration.to_json(orient="records"))
        typer.echo(json.dumps(data, indent=2))
        return
    console = Console()
    console.print(
        f"[bold]clvreport compare[/] · {escape(client)} · "
        f"{old_day.isoformat()} → {new_day.isoformat()}"
    )
    _print(comparison, console)
