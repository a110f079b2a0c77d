"""``clvreport init``: a new client folder from the transaction export(s)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clvreport.cli._app import EXIT_USER_ERROR, app, console, escape, user_errors

EXIT_NEEDS_EDITS = 1


@app.command()
@user_errors
def init(
    client: Annotated[
        str, typer.Option("--client", "-c", help="Name of the new client folder under data/.")
    ],
    exports: Annotated[
        list[Path],
        typer.Option("--from", help="Transaction export (CSV, Excel .xlsx, Parquet); repeatable."),
    ],
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Folder with one sub-folder per client.")
    ] = Path("data"),
) -> None:
    """Create data/<client>/ from an export: copy it, write client.yml, validate.

    No brand is written: until the client folder holds a _brand.yml of its own
    the report has a plain cover with the client's name.

    Exit code 0: the client is ready to report; 1: the client was created but
    client.yml needs edits (shown); 2: nothing was created.
    """
    from clvreport.errors import ClvReportError
    from clvreport.onboarding import init_client
    from clvreport.validate import validate_client

    with console.status("looking at the export…", spinner="dots"):
        result = init_client(client, exports, data_dir=data_dir)
    config = result.folder / "client.yml"
    console.print(f"[bold]clvreport init[/] · {escape(client)} → {escape(str(result.folder))}")
    for path in result.files:
        console.print(f"  [green]+[/] {escape(path.relative_to(result.folder).as_posix())}")
    for layout in result.layouts:
        parts = [layout.format]
        if layout.encoding:
            parts.append(layout.encoding)
        if layout.delimiter:
            parts.append(f"delimiter {layout.delimiter!r}")
        if layout.decimal:
            parts.append(f"decimal {layout.decimal!r}")
        if layout.date_format and layout.date_format != "cells":
            parts.append(f"dates {layout.date_format}")
        if layout.sheet:
            parts.append(f"sheet {layout.sheet!r}")
        console.print(f"  [cyan]·[/] {escape(layout.path.name)}: {escape(', '.join(parts))}")
        if layout.problem:
            console.print(
                f"  [yellow]![/] could not read it through with the guessed columns: "
                f"{escape(layout.problem)}"
            )
    for field, column in result.mapping.items():
        console.print(f"  [green]✓[/] {escape(f'{field:<12}')} ← {escape(column)}")
    if result.unplaced:
        console.print(
            f"  [yellow]![/] columns not placed: {escape(', '.join(result.unplaced))} "
            "(map them in client.yml, or list them under columns.extra)"
        )
    for field in result.missing:
        console.print(
            f"  [red]✗[/] no column found for {escape(field)}: fill in the «CHANGE» line "
            "under data.columns"
        )
    if result.missing:
        console.print(
            f"[bold yellow]Next:[/] fill in the «CHANGE» lines of {escape(str(config))} under "
            f"data.columns ({escape(', '.join(result.missing))}: name the export's column), "
            f"then run clvreport validate --client {escape(client)}"
            + (f" --data-dir {escape(str(data_dir))}" if data_dir != Path("data") else "")
        )
        raise typer.Exit(EXIT_NEEDS_EDITS)
    console.print("[bold]validate[/]")
    try:
        checked = validate_client(client, data_dir=data_dir)
    except ClvReportError as exc:
        console.print(f"  [red]✗[/] {escape(str(exc))}", soft_wrap=True)
        console.print(
            f"[bold yellow]Next:[/] fix {escape(str(config))} (the problem above and the "
            f"«CHANGE» lines), then run clvreport validate --client {escape(client)}"
            + (f" --data-dir {escape(str(data_dir))}" if data_dir != Path("data") else "")
        )
        raise typer.Exit(EXIT_NEEDS_EDITS) from None
    for check, detail in checked.checks:
        console.print(f"  [green]✓[/] {escape(f'{check:<22}')} {escape(detail)}")
    for warning in checked.warnings:
        console.print(f"  [yellow]![/] {escape(warning)}")
    # the command itself, with the same --data-dir: `make report` only exists in a checkout
    command = f"clvreport report --client {client}" + (
        f" --data-dir {data_dir}" if data_dir != Path("data") else ""
    )
    console.print(
        f"[bold green]Next:[/] check {escape(str(config))}: the lines marked "
        "«detected — check» and «CHANGE» (name, currency, gross_margin); for the client's "
        f"colours and logo add {escape(str(result.folder / '_brand.yml'))}; then run "
        f"{escape(command)}"
    )


__all__ = ["EXIT_NEEDS_EDITS", "EXIT_USER_ERROR", "init"]
