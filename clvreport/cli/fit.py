"""``clvreport fit``: transaction files → fitted CLV models, without a report.

Reads the files like ``clvreport summary``, builds the calibration summary
(with the holdout columns when ``--holdout-end`` is given) and the full-period
summary, and calls :func:`clvreport.models.fit_clv_models`. Prints the chosen
model, its parameters with standard errors and log-likelihood, the
Gamma-Gamma spend parameters and, with a holdout, actual versus predicted
holdout purchases; ``--json`` prints the same as one JSON object (the content
of ``model.json``). Exit code 1 when no model could be fitted (status
``failed``), 2 for mistakes in the input.

With a holdout, the chosen model's calibration fit also gives every customer a
90% predictive interval of their holdout purchases (purchase process and
parameter uncertainty, :func:`clvreport.models.predictive.holdout_intervals`);
``validation.coverage`` is the share of customers whose actual holdout
purchases lie inside, ``validation.interval`` the nominal 0.9. ``--scores
FILE.csv`` writes the per-customer rows (``customer_id, holdout_purchases,
expected_holdout_purchases, holdout_purchases_low, holdout_purchases_high``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from clvreport.cli._app import app, user_errors
from clvreport.cli.summary import _options, write_table
from clvreport.errors import ConfigError
from clvreport.ingest import read_transactions
from clvreport.models import ClvModelFit, fit_clv_models
from clvreport.models.predictive import holdout_intervals
from clvreport.summary import rfm_summary

__all__ = ["fit"]

INTERVAL = 0.9  # nominal coverage of the holdout intervals

_MODEL_NAMES = {
    "bgnbd": "BG/NBD",
    "mbgnbd": "MBG/NBD",
    "pnbd": "Pareto/NBD",
    "gamma_gamma": "Gamma-Gamma",
}


def _number(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _params_table(title: str, model: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("parameter")
    table.add_column("estimate", justify="right")
    table.add_column("std. error", justify="right")
    for name, value in model["params"].items():
        table.add_row(name, _number(value, 6), _number(model["standard_errors"].get(name), 3))
    ll = model["log_likelihood"]
    table.add_section()
    table.add_row("log-likelihood", "–" if ll is None else f"{ll:,.3f}", "")
    table.add_row("converged", "yes" if model["converged"] else "no", "")
    return table


def _print(fit: ClvModelFit, payload: dict[str, Any]) -> None:
    console = Console(highlight=False)
    status = fit.status + (f" ({', '.join(fit.reasons)})" if fit.reasons else "")
    console.print(f"Status: {status}")
    console.print(
        f"Customers: {fit.n_customers:,}, repeat buyers (whole period): {fit.n_repeat_buyers:,}"
    )
    if fit.model_name is None:
        return
    how = {"holdout": "smallest holdout error", "likelihood": "highest likelihood"}
    console.print(
        f"Model: {_MODEL_NAMES[fit.model_name]}"
        + (f", chosen by {how[fit.selection]}" if fit.selection in how else "")
    )
    console.print(_params_table(_MODEL_NAMES[fit.model_name], payload["transaction_model"]))
    if payload["spend_model"] is not None:
        console.print(_params_table("Gamma-Gamma (spend)", payload["spend_model"]))
    elif fit.spend_fallback is not None:
        console.print(f"Spend: historic mean per repeat purchase {fit.spend_fallback:,.2f}")
    if len(fit.candidates) > 1:
        table = Table(title="Candidates (calibration period)", title_justify="left")
        for column in ("model", "log-likelihood", "holdout purchases", "binned error"):
            table.add_column(column, justify="left" if column == "model" else "right")
        for name, candidate in payload["candidates"].items():
            holdout = candidate["holdout"] or {}
            ll = candidate["log_likelihood"]
            table.add_row(
                _MODEL_NAMES[name],
                "failed" if ll is None else f"{ll:,.3f}",
                _number(holdout.get("predicted_total"), 6),
                _number(holdout.get("bin_mae"), 3),
            )
        console.print(table)
    if fit.validation is not None:
        v = fit.validation
        table = Table(
            title=f"Holdout: actual {v.actual_total:,.0f} vs predicted {v.predicted_total:,.1f} "
            f"repeat purchases ({v.total_error:+.1%}); verdict {v.verdict}",
            title_justify="left",
        )
        for column in ("repeat purchases (calibration)", "customers", "actual", "predicted"):
            table.add_column(column, justify="right")
        for row in v.by_frequency.itertuples():
            table.add_row(
                row.bin,
                f"{row.customers:,}",
                f"{row.actual_total:,.0f}",
                f"{row.predicted_total:,.1f}",
            )
        console.print(table)
        coverage = payload["validation"].get("coverage")
        if coverage is not None:
            console.print(
                f"Holdout purchases inside their {INTERVAL:.0%} predictive interval: "
                f"{coverage:.1%} of customers"
            )


def _holdout_scores(fit: ClvModelFit, calibration: Any) -> tuple[Any, float] | None:
    """Predictive holdout intervals from the chosen model's calibration fit."""
    if fit.model_name is None or fit.validation is None:
        return None
    candidate = fit.candidates.get(fit.model_name)
    if candidate is None or candidate.model is None:
        return None
    return holdout_intervals(candidate.model, calibration, interval=INTERVAL)


@app.command("fit")
@user_errors
def fit(
    files: Annotated[
        list[str],
        typer.Argument(help="Transaction files (CSV, TXT, Parquet, XLSX) or quoted globs."),
    ],
    customer_col: Annotated[str, typer.Option("--customer-col", help="Customer id column.")],
    date_col: Annotated[str, typer.Option("--date-col", help="Order date column.")],
    amount_col: Annotated[str, typer.Option("--amount-col", help="Amount column.")],
    calibration_end: Annotated[
        str,
        typer.Option("--calibration-end", help="Last day of the calibration period (YYYY-MM-DD)."),
    ],
    holdout_end: Annotated[
        str | None,
        typer.Option("--holdout-end", help="Last day of the holdout period (YYYY-MM-DD)."),
    ] = None,
    time_unit: Annotated[
        Literal["days", "weeks", "months"],
        typer.Option("--time-unit", help="Time unit of the models."),
    ] = "weeks",
    model: Annotated[
        Literal["auto", "bgnbd", "mbgnbd", "pnbd"],
        typer.Option("--model", help="Transaction model, or auto to choose by holdout error."),
    ] = "auto",
    date_format: Annotated[
        str, typer.Option("--date-format", help="strftime format such as %Y%m%d; 'auto' detects.")
    ] = "auto",
    delimiter: Annotated[
        str, typer.Option("--delimiter", help="';', ',', 'tab', 'whitespace' or 'auto'.")
    ] = "auto",
    decimal: Annotated[
        Literal["auto", ".", ","], typer.Option("--decimal", help="Decimal mark.")
    ] = "auto",
    encoding: Annotated[
        Literal["auto", "utf-8", "utf-8-sig", "cp1252", "latin-1"],
        typer.Option("--encoding", help="Text encoding."),
    ] = "auto",
    no_header: Annotated[
        bool, typer.Option("--no-header", help="The files have no header line.")
    ] = False,
    names: Annotated[
        str | None,
        typer.Option("--names", help="Comma-separated column names (for files without header)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Report date; later rows are excluded. Default: last date."),
    ] = None,
    zero_amounts: Annotated[
        Literal["drop", "keep"],
        typer.Option(
            "--zero-amounts", help="Orders of 0: exclude them, or count them as purchases."
        ),
    ] = "drop",
    duplicates: Annotated[
        Literal["drop", "keep"],
        typer.Option("--duplicates", help="Identical rows: keep one, or keep all."),
    ] = "drop",
    returns: Annotated[
        Literal["net", "drop"],
        typer.Option("--returns", help="Negative amounts: net them against revenue, or drop them."),
    ] = "net",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON object.")
    ] = False,
    scores: Annotated[
        Path | None,
        typer.Option(
            "--scores",
            help="Write each customer's holdout purchases with the expected value and 90% "
            "predictive interval to this CSV (needs --holdout-end).",
        ),
    ] = None,
) -> None:
    """Fit BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma models and print the chosen one.

    Example (CDNOW, whitespace-separated, no header)::

        clvreport fit CDNOW_sample.txt --no-header --names id,sample,date,qty,amount
            --customer-col id --date-col date --amount-col amount --date-format %Y%m%d
            --calibration-end 1997-09-30 --holdout-end 1998-06-30
            --zero-amounts keep --duplicates keep --scores holdout_scores.csv
    """
    if scores is not None and holdout_end is None:
        raise ConfigError(
            "--scores needs a holdout period: the scores compare each customer's holdout "
            "purchases with the interval predicted for them",
            hint="add --holdout-end YYYY-MM-DD (the last day of the holdout period)",
        )
    columns, csv, policies = _options(
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        delimiter=delimiter,
        decimal=decimal,
        encoding=encoding,
        header=not no_header,
        names=names,
        date_format=date_format,
        zero_amounts=zero_amounts,
        duplicates=duplicates,
        returns=returns,
    )
    tx = read_transactions(files, columns, csv=csv, policies=policies, as_of=as_of)
    try:
        calibration = rfm_summary(
            tx, calibration_end=calibration_end, observation_end=holdout_end, time_unit=time_unit
        )
        full = None
        if holdout_end is not None:
            full = rfm_summary(tx, calibration_end=holdout_end, time_unit=time_unit)
        result = fit_clv_models(calibration, full, model=model, time_unit=time_unit)
        holdout = _holdout_scores(result, calibration)
        payload = {
            **result.to_dict(),
            "calibration_end": calibration.attrs.get("calibration_end"),
            "holdout_end": calibration.attrs.get("observation_end"),
            "as_of": tx.as_of.isoformat(),
        }
    finally:
        tx.close()
    if holdout is not None and payload.get("validation") is not None:
        table, coverage = holdout
        payload["validation"]["coverage"] = coverage if math.isfinite(coverage) else None
        payload["validation"]["interval"] = INTERVAL
        if scores is not None:
            write_table(table, scores, "the holdout scores", option="--scores")
    elif scores is not None:
        typer.echo(
            f"No holdout scores written to {scores}: no model could be checked on the holdout "
            f"(status {result.status}).",
            err=True,
        )
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False, allow_nan=False))
    else:
        _print(result, payload)
    if result.status == "failed":
        raise typer.Exit(1)
