"""``clvreport report``, ``clvreport clients`` and ``clvreport validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clvreport.cli._app import app, console, escape, user_errors

DataDir = Annotated[Path, typer.Option("--data-dir", help="Folder with one sub-folder per client.")]
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="Report date YYYY-MM-DD (default: last order).")
]


def _compare_choice(compare_to: str | None, no_compare: bool) -> str | None:
    if no_compare and compare_to:
        from clvreport.errors import ConfigError

        raise ConfigError(
            "--compare-to and --no-compare contradict each other", hint="give one of them"
        )
    if no_compare:
        return None
    return compare_to or "auto"


@app.command()
@user_errors
def report(
    client: Annotated[str, typer.Option("--client", "-c", help="Client folder name under data/.")],
    as_of: AsOf = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Report language: nl or en (default: client.yml).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Comma-separated output formats: pdf,html.")
    ] = "pdf,html",
    renderer: Annotated[
        str, typer.Option("--renderer", help="auto (Quarto if installed), quarto or builtin.")
    ] = "auto",
    out: Annotated[Path, typer.Option("--out", help="Root folder for the reports.")] = Path(
        "output"
    ),
    data_dir: DataDir = Path("data"),
    compare_to: Annotated[
        str | None,
        typer.Option(
            "--compare-to",
            help="Compare with the earlier report of this date YYYY-MM-DD "
            "(default: the latest earlier one in the output folder).",
        ),
    ] = None,
    no_compare: Annotated[
        bool, typer.Option("--no-compare", help="No comparison with an earlier report.")
    ] = False,
) -> None:
    """Render a client's CLV report to output/<client>/<as-of>/ (PDF, HTML, notebook, CSV).

    When the output folder holds an earlier report of the client, the new one
    has a section comparing the two and writes migration.csv and comparison.json.
    """
    from clvreport.render import render_report

    console.print(f"[bold]clvreport[/] · {escape(client)}")

    def progress(step: str, seconds: float, peak_mib: float) -> None:
        console.print(
            f"  [green]✓[/] {escape(f'{step:<34}')} {seconds:6.1f} s {peak_mib:7,.0f} MiB"
        )

    with console.status("working…", spinner="dots"):
        result = render_report(
            client,
            data_dir=data_dir,
            out_dir=out,
            as_of=as_of,
            language=lang,
            formats=fmt,
            renderer=renderer,
            on_step=progress,
            compare_to=_compare_choice(compare_to, no_compare),
        )
    total = sum(result.steps.values())
    peak = max(result.peak_mib.values(), default=0.0)
    console.print(
        f"  [bold]done[/] in {total:.1f} s, peak {peak:,.0f} MiB → {escape(str(result.folder))}"
    )
    for path in result.files:
        if path.parent == result.folder:
            console.print(f"    {escape(path.name)}")


def _one_line(text: str, limit: int = 160) -> str:
    """A multi-line problem as one table cell: ``invalid configuration: - name: ...``."""
    line = " ".join(part.strip() for part in text.splitlines() if part.strip())
    return line if len(line) <= limit else line[: limit - 1] + "…"


@app.command()
@user_errors
def clients(
    data_dir: DataDir = Path("data"),
    names: Annotated[
        bool, typer.Option("--names", help="Print only the names, one a line.")
    ] = False,
) -> None:
    """List the clients: every folder in data/ that holds a client.yml.

    A client whose configuration is invalid (client.yml, segment and
    recommendation overrides, brand, logo) is listed too, marked with its first
    problem; with --names only the valid clients are printed (the invalid ones
    are named on stderr).
    """
    from clvreport.config import list_clients, load_config
    from clvreport.errors import ClvReportError
    from clvreport.validate import check_report_config

    found = list_clients(data_dir)
    loaded = {}
    problems = {}
    for name in found:
        client_dir = Path(data_dir) / name
        try:
            config = load_config(client_dir / "client.yml")
            check_report_config(config, client_dir)
            loaded[name] = config
        except ClvReportError as exc:
            problems[name] = _one_line(exc.message)
    if names:
        for name in loaded:
            typer.echo(name)
        for name, problem in problems.items():
            console.print(f"[yellow]![/] skipped {escape(name)}: {escape(problem)}")
        return
    if not found:
        console.print(
            f"No clients in {escape(str(data_dir))}/ yet: add data/<name>/client.yml "
            "(see data/README.md)."
        )
        return
    table = Table(
        "client", "name", "language", "data", title=f"clients in {escape(str(data_dir))}/"
    )
    for name in found:
        config = loaded.get(name)
        if config is None:
            table.add_row(escape(name), f"[red]invalid:[/] {escape(problems[name])}", "", "")
        else:
            table.add_row(
                escape(name),
                escape(config.name),
                escape(config.language),
                escape(", ".join(config.data.sources)),
            )
    console.print(table)
    if problems:
        bad = ", ".join(problems)
        console.print(
            f"[yellow]![/] {len(problems)} of {len(found)} clients cannot be reported on: "
            f"{escape(bad)}. Run clvreport validate --client <name> for the details."
        )


@app.command()
@user_errors
def validate(
    client: Annotated[str, typer.Option("--client", "-c", help="Client folder name under data/.")],
    as_of: AsOf = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Check a client's config, brand and data without rendering anything."""
    from clvreport.validate import validate_client

    result = validate_client(client, data_dir=data_dir, as_of=as_of)
    for check, detail in result.checks:
        console.print(f"  [green]✓[/] {escape(f'{check:<22}')} {escape(detail)}")
    for warning in result.warnings:
        console.print(f"  [yellow]![/] {escape(warning)}")
    console.print(f"[bold green]{escape(client)} is ready to report.[/]")
