"""``clvreport fit``: transaction files → fitted CLV models, without a report.

Reads the files like ``clvreport summary``, builds the calibration summary
(with the holdout columns when ``--holdout-end`` is given) and the full-period
summary, and calls :func:`clvreport.models.fit_clv_models`. Prints the chosen
model, its parameters with standard errors and log-likelihood, the
Gamma-Gamma spend parameters and, with a holdout, actual versus predicted
holdout purchases; ``--json`` prints the same as one JSON object (the content
of ``model.json``). Exit code 1 when no model could be fitted (status
``failed``), 2 for mistakes in the input.

Identical rows (same customer, day and amount) are kept by default
(``--duplicates auto``), as a report keeps them when no order id is mapped:
without one they are most likely two invoices, not an export error.
``--duplicates drop`` keeps one of them.

With a holdout, the chosen model's calibration fit also gives every customer a
90% predictive interval of their holdout purchases (purchase process and
parameter uncertainty, :func:`clvreport.models.predictive.holdout_intervals`);
``validation.coverage`` is the share of customers whose actual holdout
purchases lie inside, ``validation.interval`` the nominal 0.9,
``validation.above`` and ``validation.below`` the shares above the upper and
below the lower bound (``validation.intervals`` adds what the model expected
on each side and the share whose lower bound is 0). ``--scores FILE.csv``
writes the per-customer rows (``customer_id, holdout_purchases,
expected_holdout_purchases, holdout_purchases_low, holdout_purchases_high,
chance_below, chance_above``).

The same calibration fit dates every customer's next purchase
(:mod:`clvreport.models.next_purchase`, with the holdout's length as the
horizon): ``validation.next_purchase_coverage`` is the share of the customers
who bought in the holdout whose first holdout purchase fell in their 80%
window (``validation.next_purchase_window`` adds the shares before and after
it and the holdout purchase rate per risk label), and
``validation.p_purchase_90d_calibration`` the predicted chance of a purchase
within 90 days against the observed share, per decile of the prediction.

With ``--season auto`` (the default) the client's monthly pattern is
estimated from the transactions up to the calibration end (for the holdout
check) and up to the holdout end (for the final fit), and used as a time
change when two or more whole years show a clear one
(:mod:`clvreport.models.season`); ``season`` and ``calibration_season`` in
the JSON say which factors were used, or why none. ``--season off`` fits on
the calendar.

``--model bgbb`` fits the donor report's model instead (BG/BB, one purchase
opportunity per year, quarter or month: ``--time-unit years|quarters|months``,
default years, with the amounts' model): the transactions up to
``--calibration-end`` become one ``(frequency, recency, n_periods)`` row per
customer (whole periods only), and ``--holdout-months`` (default 0: none) and
``--horizon-months`` check it as the report does with ``holdout_months`` and
``horizon_months``. ``--model sbg`` reads a subscription log as the subscription
report does (``--start-col``, ``--end-col``, optional ``--plan-col`` for a model
per plan and ``--amount-col`` for the price per period) and fits sBG per
renewal period. For both, ``--json`` prints exactly the model block of the
report's ``model.json`` (:meth:`clvreport.audiences.base.Audience.model_block`):
the same fit, by the same code, as ``clvreport report`` with those settings.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from clvreport.audiences import audience
from clvreport.cli._app import app, user_errors
from clvreport.cli.common import (
    POLICY_DEFAULTS,
    AsOf,
    DateFormat,
    Decimal,
    Delimiter,
    Duplicates,
    Encoding,
    Files,
    HoldoutEnd,
    Names,
    NoHeader,
    Returns,
    ZeroAmounts,
    read_options,
    write_table,
)
from clvreport.cli.progress import running
from clvreport.config import ClientConfig, CsvOptions
from clvreport.dates import parse_date
from clvreport.errors import ConfigError, DataError
from clvreport.ingest import Transactions, read_transactions
from clvreport.models import ClvModelFit, fit_clv_models
from clvreport.models.contract import read_subscription_log, subscription_summary
from clvreport.models.fitting import MIN_REPEAT_BUYERS, SKIPPED
from clvreport.models.next_purchase import chosen_window_check, validation_entries
from clvreport.models.predictive import INTERVAL, holdout_intervals, interval_check
from clvreport.models.season import Season, daily_purchases, season_from_transactions
from clvreport.rfm import rfm_summaries, rfm_summary
from clvreport.subscription_log import ALL_PLANS

__all__ = ["fit"]


_MODEL_NAMES = {
    "bgnbd": "BG/NBD",
    "mbgnbd": "MBG/NBD",
    "pnbd": "Pareto/NBD",
    "gamma_gamma": "Gamma-Gamma",
    "bgbb": "BG/BB",
}
_CONTINUOUS_UNITS = ("days", "weeks", "months")
_PERIODS = {"years": "year", "quarters": "quarter", "months": "month"}


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
    caps = fit.spend_caps
    if caps is not None and caps.orders:
        how = {
            "no_check": "counted as ordinary orders (no holdout revenue to check)",
            "check_capped": "counted as ordinary orders (the holdout revenue check agrees)",
            "check_full": "counted in full (the holdout revenue check prefers it)",
        }
        console.print(
            f"Exceptional repeat orders: {caps.orders:,} of {caps.customers:,} customer(s), "
            f"together {caps.amount:,.2f}, {how.get(caps.decision, caps.decision)} "
            f"in the spend model"
        )
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
        for name, candidate in payload["candidates"].items():
            if (candidate["error"] or "").startswith(SKIPPED):
                console.print(f"{_MODEL_NAMES[name]}: {candidate['error']}")
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
        check = payload["validation"].get("intervals")
        if check and check.get("above") is not None:
            console.print(
                f"Above the upper bound: {check['above']:.1%} of customers (the model expected "
                f"{check['expected_above']:.1%}); below the lower bound: {check['below']:.1%} "
                f"(expected {check['expected_below']:.1%}); lower bound 0: "
                f"{check['lower_bound_zero']:.1%}"
            )
        window = payload["validation"].get("next_purchase_coverage")
        if window is not None:
            console.print(
                f"First holdout purchase inside the customer's 80% next-purchase window: "
                f"{window:.1%} of the holdout buyers"
            )
    season = payload.get("season") or {}
    if season:
        factors = season.get("factors")
        console.print(
            "Season: "
            + (
                "monthly index " + ", ".join(f"{v:.2f}" for v in factors)
                if factors
                else f"none ({season.get('reason')})"
            )
        )


def _holdout_scores(fit: ClvModelFit, calibration: Any) -> tuple[Any, float] | None:
    """Predictive holdout intervals from the chosen model's calibration fit."""
    if fit.model_name is None or fit.validation is None:
        return None
    candidate = fit.candidates.get(fit.model_name)
    if candidate is None or candidate.model is None:
        return None
    timed = fit.calibration_operational(calibration)
    return holdout_intervals(candidate.model, timed, interval=INTERVAL)


def _seasons(
    tx: Transactions, calibration_end: str, holdout_end: str | None, enabled: bool
) -> tuple[Season, Season | None]:
    """The seasonal index up to the calibration end, and up to the holdout end (if any)."""
    cal = parse_date(calibration_end, "--calibration-end")
    end = parse_date(holdout_end, "--holdout-end") or cal
    assert cal is not None and end is not None
    daily = daily_purchases(tx, end) if enabled else None
    calibration = season_from_transactions(tx, cal, daily=daily, enabled=enabled)
    if holdout_end is None:
        return calibration, None
    return calibration, season_from_transactions(tx, end, daily=daily, enabled=enabled)


def _time_unit(model: str, time_unit: str | None) -> str:
    """The time unit for ``model``: its default, or ``time_unit`` if the model takes it."""
    if model in ("bgbb", "sbg"):
        unit = time_unit or "years"
        if unit not in _PERIODS:
            what = (
                "BG/BB counts one purchase opportunity per period"
                if model == "bgbb"
                else "sBG counts renewals, one per period"
            )
            raise ConfigError(
                f"--time-unit {unit} does not work with --model {model}: {what}",
                hint="use --time-unit years, quarters or months",
            )
        return unit
    unit = time_unit or "weeks"
    if unit not in _CONTINUOUS_UNITS:
        raise ConfigError(
            f"--time-unit {unit} is only for --model bgbb or sbg (discrete periods)",
            hint="the other models take --time-unit days, weeks or months",
        )
    return unit


def _calibration_date(tx: Transactions, calibration_end: str) -> dt.date:
    """The calibration end as a date, refused before the first transaction or after as-of."""
    cal = parse_date(calibration_end, "--calibration-end")
    assert cal is not None
    if cal < tx.first_date:
        raise DataError(
            f"calibration end {cal} is before the first transaction ({tx.first_date}): "
            "no customer would be in the summary",
            hint="choose a calibration end between the first transaction and the as-of date",
        )
    if cal > tx.as_of:
        raise DataError(
            f"calibration end {cal} is after the as-of date {tx.as_of}",
            hint=f"choose a calibration end on or before the as-of date, or give the report "
            f"date with --as-of when the data run to the calibration end (--as-of {cal})",
        )
    return cal


def _bgbb_block(
    tx: Transactions,
    calibration_end: str,
    time_unit: str,
    *,
    holdout_months: int,
    horizon_months: int,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """BG/BB on the whole periods up to the calibration end, as the donor report fits it.

    Returns the report's ``model.json`` model block
    (:meth:`~clvreport.audiences.base.Audience.model_block` of the donor audience)
    and the donors' summary.
    """
    from clvreport.audiences.donors import fit_donors

    cal = _calibration_date(tx, calibration_end)
    _, summary, fitted = fit_donors(
        tx.engine,
        tx.table,
        _PERIODS[time_unit],
        cal,
        holdout_months=holdout_months,
        horizon_months=horizon_months,
    )
    intervals = None if fitted.holdout is None else fitted.holdout.intervals
    return audience("discrete").model_block(fitted, intervals), summary


def _print_bgbb(block: dict[str, Any], summary: pd.DataFrame) -> None:
    console = Console(highlight=False)
    reasons = block["reasons"]
    console.print(f"Status: {block['status']}" + (f" ({', '.join(reasons)})" if reasons else ""))
    periods = int(summary["n_periods"].max()) if len(summary) else 0
    console.print(
        f"Customers: {block['n_customers']:,}, repeat buyers: {block['n_repeat_buyers']:,}; "
        f"up to {periods} {block['time_unit']} to {summary.attrs.get('last_period_end')}"
    )
    if "too_few_repeat_buyers" in reasons:
        console.print(
            f"only {block['n_repeat_buyers']} customer(s) bought again in a later period; "
            f"BG/BB needs at least {MIN_REPEAT_BUYERS}"
        )
    if block["transaction_model"] is not None:
        console.print(_params_table("BG/BB (discrete time)", block["transaction_model"]))


def _sbg_config(
    file: Path,
    customer_col: str,
    start_col: str,
    end_col: str,
    plan_col: str | None,
    price_col: str | None,
    time_unit: str,
    csv: CsvOptions,
    holdout_months: int,
    horizon_months: int,
) -> ClientConfig:
    """The ``client.yml`` of a subscription report on this log (``business: subscription``)."""
    return ClientConfig.model_validate(
        {
            "name": file.name,
            "business": "subscription",
            "holdout_months": holdout_months,
            "horizon_months": horizon_months,
            "subscription": {
                "start": start_col,
                "end": end_col,
                "period": _PERIODS[time_unit],
                "plan": plan_col,
                "price": price_col,
            },
            "data": {
                "sources": [file.name],
                "csv": csv.model_dump(),
                # without a price no amount is read (read_contracts(price=False))
                "columns": {
                    "customer_id": customer_col,
                    "date": start_col,
                    "amount": price_col or start_col,
                },
            },
        }
    )


def _contracts_without_price(
    config: ClientConfig, file: Path, as_of: dt.date | None
) -> pd.DataFrame:
    """The contracts of a log without a price column (the sBG fit needs none).

    The report reads the price per period through the common ingest
    (:func:`~clvreport.subscription_log.read_contracts`); a log without one is
    read as raw text and summarised the same way, with ``price`` empty.
    """
    options = config.subscription
    assert options.start is not None and options.end is not None
    csv = config.data.csv
    log = read_subscription_log(file, delimiter=csv.delimiter, encoding=csv.encoding)
    fmt = None if csv.date_format in (None, "auto") else csv.date_format
    summary = subscription_summary(
        log,
        customer_col=config.data.columns.customer_id,
        start_col=options.start,
        end_col=options.end,
        period=options.period,
        as_of=as_of,
        date_format=fmt,
        source=file,
    )
    if options.plan:
        first = log.groupby(log[config.data.columns.customer_id].astype(str).str.strip()).first()
        plans = first[options.plan].reindex(summary["customer_id"].astype(str))
        summary["plan"] = plans.astype(str).to_numpy()
    else:
        summary["plan"] = ALL_PLANS
    summary["price"] = np.nan
    return summary


def _fit_sbg(
    files: list[str],
    customer_col: str,
    start_col: str | None,
    end_col: str | None,
    plan_col: str | None,
    price_col: str | None,
    time_unit: str,
    as_of: str | None,
    csv: CsvOptions,
    holdout_months: int,
    horizon_months: int,
    as_json: bool,
) -> None:
    """``--model sbg``: read a subscription log as the report does, fit sBG, print or ``--json``."""
    from clvreport.audiences.subscribers import fit_subscribers
    from clvreport.subscribers import read_contracts

    for option, value in (("--start-col", start_col), ("--end-col", end_col)):
        if value is None:
            raise ConfigError(
                f"{option} is required with --model sbg",
                hint="name the contract's start and end columns, e.g. "
                "--start-col startdatum --end-col einddatum",
            )
    assert start_col is not None and end_col is not None
    if len(files) != 1:
        raise ConfigError(
            f"--model sbg reads one subscription log, not {len(files)} files",
            hint="combine the logs into one file",
        )
    file = Path(files[0])
    try:
        config = _sbg_config(
            file,
            customer_col,
            start_col,
            end_col,
            plan_col,
            price_col,
            time_unit,
            csv,
            holdout_months,
            horizon_months,
        )
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ConfigError(message, hint="see clvreport fit --help") from None
    report_date = None if as_of is None else parse_date(as_of, "--as-of")
    if price_col is None:
        contracts = _contracts_without_price(config, file, report_date)
    else:
        contracts = read_contracts(config, file.parent, report_date)
    fitted = fit_subscribers(
        contracts,
        config.subscription.period,
        dt.date.fromisoformat(contracts.attrs["as_of"]),
        holdout_months=holdout_months,
        horizon_months=horizon_months,
    )
    intervals = None if fitted.holdout is None else fitted.holdout.intervals
    block = audience("subscription").model_block(fitted, intervals)
    if as_json:
        typer.echo(json.dumps(block, ensure_ascii=False, allow_nan=False))
    else:
        active = int(contracts["active"].sum())
        console = Console(highlight=False)
        console.print(
            f"Status: {block['status']} · {len(contracts):,} contracts, {active:,} still active"
            f" · renewal period: {time_unit}"
        )
        if block["transaction_model"] is not None:
            console.print(_params_table("sBG (contract renewals)", block["transaction_model"]))
    if block["status"] == "failed":
        raise typer.Exit(1)


@app.command("fit")
@user_errors
def fit(
    files: Files,
    customer_col: Annotated[str, typer.Option("--customer-col", help="Customer id column.")],
    date_col: Annotated[
        str | None, typer.Option("--date-col", help="Order date column (not for sbg).")
    ] = None,
    amount_col: Annotated[
        str | None,
        typer.Option(
            "--amount-col", help="Amount column; for sbg the price per period (optional)."
        ),
    ] = None,
    calibration_end: Annotated[
        str | None,
        typer.Option(
            "--calibration-end",
            help="Last day of the calibration period (YYYY-MM-DD); not for sbg.",
        ),
    ] = None,
    start_col: Annotated[
        str | None,
        typer.Option("--start-col", help="sbg: column of the contract start date."),
    ] = None,
    end_col: Annotated[
        str | None,
        typer.Option("--end-col", help="sbg: column of the end date (empty while active)."),
    ] = None,
    plan_col: Annotated[
        str | None,
        typer.Option("--plan-col", help="sbg: column of the contract's plan (a model per plan)."),
    ] = None,
    holdout_end: HoldoutEnd = None,
    holdout_months: Annotated[
        int,
        typer.Option(
            "--holdout-months",
            min=0,
            max=36,
            help="bgbb and sbg: months at the end held back to check the model, as a report's "
            "holdout_months (0: no check).",
        ),
    ] = 0,
    horizon_months: Annotated[
        int,
        typer.Option(
            "--horizon-months",
            min=1,
            max=120,
            help="bgbb and sbg: the report's horizon_months (how far ahead the check predicts).",
        ),
    ] = 12,
    time_unit: Annotated[
        Literal["days", "weeks", "months", "quarters", "years"] | None,
        typer.Option(
            "--time-unit",
            help="Time unit of the models (default weeks); for bgbb the period of one "
            "purchase opportunity: years (default), quarters or months.",
        ),
    ] = None,
    model: Annotated[
        Literal["auto", "bgnbd", "mbgnbd", "pnbd", "bgbb", "sbg"],
        typer.Option(
            "--model",
            help="Transaction model, or auto to choose by holdout error; bgbb for discrete "
            "purchase opportunities (e.g. yearly donations).",
        ),
    ] = "auto",
    date_format: DateFormat = "auto",
    delimiter: Delimiter = "auto",
    decimal: Decimal = "auto",
    encoding: Encoding = "auto",
    no_header: NoHeader = False,
    names: Names = None,
    as_of: AsOf = None,
    zero_amounts: ZeroAmounts = POLICY_DEFAULTS.zero_amounts,
    duplicates: Duplicates = POLICY_DEFAULTS.duplicates,
    returns: Returns = POLICY_DEFAULTS.returns,
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
    season: Annotated[
        Literal["auto", "off"],
        typer.Option(
            "--season",
            help="auto: fit and forecast in the seasonal time of the client's own monthly "
            "pattern when two or more whole years show a clear one; off: calendar time.",
        ),
    ] = "auto",
) -> None:
    """Fit BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma models and print the chosen one.

    With --model bgbb: the discrete-time BG/BB model on whole periods
    (--time-unit years, quarters or months) up to the calibration end.
    Rows are read as a report reads them (the defaults of client.yml's data.policies).

    Example (CDNOW, whitespace-separated, no header):

        clvreport fit CDNOW_sample.txt --no-header
          --names id,sample,date,qty,amount
          --customer-col id --date-col date --amount-col amount
          --date-format %Y%m%d
          --calibration-end 1997-09-30 --holdout-end 1998-06-30
          --duplicates keep --scores holdout_scores.csv
    """
    time_unit = _time_unit(model, time_unit)
    for option, value in (
        ("--as-of", as_of),
        ("--calibration-end", calibration_end),
        ("--holdout-end", holdout_end),
    ):
        parse_date(value, option)  # a date that cannot be read is refused under its option
    if model == "sbg":
        for option, value in (("--start-col", start_col), ("--end-col", end_col)):
            if value is None:
                raise ConfigError(
                    f"{option} is required with --model sbg",
                    hint="name the contract's start and end columns, e.g. "
                    "--start-col startdatum --end-col einddatum",
                )
        _, csv, _ = read_options(
            "fit",
            customer_col=customer_col,
            date_col=str(start_col),
            amount_col=amount_col or str(start_col),
            delimiter=delimiter,
            decimal=decimal,
            encoding=encoding,
            no_header=no_header,
            names=names,
            date_format=date_format,
            zero_amounts=zero_amounts,
            duplicates=duplicates,
            returns=returns,
        )
        _fit_sbg(
            files,
            customer_col,
            start_col,
            end_col,
            plan_col,
            amount_col,
            time_unit,
            as_of,
            csv,
            holdout_months,
            horizon_months,
            as_json,
        )
        return
    for option, value in (
        ("--date-col", date_col),
        ("--amount-col", amount_col),
        ("--calibration-end", calibration_end),
    ):
        if value is None:
            raise ConfigError(
                f"{option} is required with --model {model}",
                hint="see clvreport fit --help (only --model sbg reads a subscription log "
                "with --start-col and --end-col instead)",
            )
    if model == "bgbb" and holdout_end is not None:
        raise ConfigError(
            "--holdout-end is not supported with --model bgbb yet",
            hint="leave out --holdout-end (and --scores) to fit BG/BB on the calibration period",
        )
    if scores is not None and holdout_end is None:
        raise ConfigError(
            "--scores needs a holdout period: the scores compare each customer's holdout "
            "purchases with the interval predicted for them",
            hint="add --holdout-end YYYY-MM-DD (the last day of the holdout period)",
        )
    columns, csv, policies = read_options(
        "fit",
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        delimiter=delimiter,
        decimal=decimal,
        encoding=encoding,
        no_header=no_header,
        names=names,
        date_format=date_format,
        zero_amounts=zero_amounts,
        duplicates=duplicates,
        returns=returns,
    )
    with running("reading the files"):
        tx = read_transactions(files, columns, csv=csv, policies=policies, as_of=as_of)
    if model == "bgbb":
        try:
            with running("fitting the BG/BB model"):
                block, summary = _bgbb_block(
                    tx,
                    str(calibration_end),
                    time_unit,
                    holdout_months=holdout_months,
                    horizon_months=horizon_months,
                )
        finally:
            tx.close()
        if as_json:
            typer.echo(json.dumps(block, ensure_ascii=False, allow_nan=False))
        else:
            _print_bgbb(block, summary)
        if block["status"] == "failed":
            raise typer.Exit(1)
        return
    try:
        with running("summarising per customer"):
            full = None
            if holdout_end is None:
                calibration = rfm_summary(tx, calibration_end=calibration_end, time_unit=time_unit)
            else:  # both summaries from one pass over the rows
                end = parse_date(holdout_end, "holdout end", error=DataError)
                cal = parse_date(calibration_end, "calibration end", error=DataError)
                full, calibration = rfm_summaries(
                    tx, [(end, None), (cal or tx.as_of, end)], time_unit=time_unit
                )
            calibration_season, full_season = _seasons(
                tx, calibration.attrs["calibration_end"], holdout_end, season == "auto"
            )
        with running("fitting the models"):
            result = fit_clv_models(
                calibration,
                full,
                model=model,
                time_unit=time_unit,
                season=full_season or calibration_season,
                calibration_season=calibration_season,
            )
        with running("checking the holdout"):
            holdout = _holdout_scores(result, calibration)
            window = chosen_window_check(result, calibration)
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
        check = interval_check(table, INTERVAL).to_dict()
        payload["validation"]["intervals"] = check
        payload["validation"]["above"] = check["above"]
        payload["validation"]["below"] = check["below"]
        payload["validation"].update(validation_entries(window))
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
