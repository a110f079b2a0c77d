"""``clvreport report``, ``clvreport clients`` and ``clvreport validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clvreport.cli._app import app, console, user_errors

DataDir = Annotated[Path, typer.Option("--data-dir", help="Folder with one sub-folder per client.")]


@app.command()
@user_errors
def report(
    client: Annotated[str, typer.Option("--client", "-c", help="Client folder name under data/.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Report date YYYY-MM-DD (default: last order).")
    ] = None,
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
) -> None:
    """Render a client's CLV report to output/<client>/<as-of>/ (PDF, HTML, notebook, CSV)."""
    from clvreport.render import render_report

    console.print(f"[bold]clvreport[/] · {client}")

    def progress(step: str, seconds: float, peak_mib: float) -> None:
        console.print(f"  [green]✓[/] {step:<34} {seconds:6.1f} s {peak_mib:7,.0f} MiB")

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
        )
    total = sum(result.steps.values())
    peak = max(result.peak_mib.values(), default=0.0)
    console.print(f"  [bold]done[/] in {total:.1f} s, peak {peak:,.0f} MiB → {result.folder}")
    for path in result.files:
        if path.parent == result.folder:
            console.print(f"    {path.name}")


@app.command()
@user_errors
def clients(
    data_dir: DataDir = Path("data"),
    names: Annotated[
        bool, typer.Option("--names", help="Print only the names, one a line.")
    ] = False,
) -> None:
    """List the clients: every folder in data/ that holds a client.yml."""
    from clvreport.config import list_clients, load_config

    found = list_clients(data_dir)
    if names:
        for name in found:
            typer.echo(name)
        return
    if not found:
        console.print(
            f"No clients in {data_dir}/ yet: add data/<name>/client.yml (see data/README.md)."
        )
        return
    table = Table("client", "name", "language", "data", title=f"clients in {data_dir}/")
    for name in found:
        config = load_config(Path(data_dir) / name / "client.yml")
        table.add_row(name, config.name, config.language, ", ".join(config.data.sources))
    console.print(table)


@app.command()
@user_errors
def validate(
    client: Annotated[str, typer.Option("--client", "-c", help="Client folder name under data/.")],
    data_dir: DataDir = Path("data"),
) -> None:
    """Check a client's config, brand and data without rendering anything."""
    from clvreport.validate import validate_client

    result = validate_client(client, data_dir=data_dir)
    for check, detail in result.checks:
        console.print(f"  [green]✓[/] {check:<22} {detail}")
    for warning in result.warnings:
        console.print(f"  [yellow]![/] {warning}")
    console.print(f"[bold green]{client} is ready to report.[/]")
