"""The report's state: client config, language, analysis results and output folder."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd

from clvreport import plots
from clvreport.analysis import Analysis, run_analysis
from clvreport.audiences import audience
from clvreport.brand import load_brand
from clvreport.comparison import (
    Comparison,
    KeyFigures,
    StoredReport,
    Unavailable,
    compare_reports,
    find_previous,
    key_figures,
    list_reports,
    report_history,
    write_comparison,
)
from clvreport.config import load_client
from clvreport.dates import parse_date
from clvreport.experiments import LearnedRate
from clvreport.i18n import Translator
from clvreport.recommendations import PlanRules
from clvreport.safe_files import printable, shorten

__all__ = ["ReportContext", "finish", "setup"]

RUN_INFO = "run.json"


@dataclass
class ReportContext:
    """Everything the report sections need.

    Attributes
    ----------
    client
        Client name (folder under ``data/``).
    analysis
        All computed figures, models and segments.
    t
        Messages and number formats in the report language.
    output_dir
        Where the notebook writes figures and data files.
    previous
        The earlier report this one is compared with
        (:func:`clvreport.comparison.find_previous`): a ``StoredReport``, an
        ``Unavailable`` (it lacks the files a comparison needs) or ``None``.
    reports_dir
        The folder of the client's reports (``<out>/<client>/``), for the
        history of key figures; ``None`` when not known.
    """

    client: str
    analysis: Analysis
    t: Translator
    output_dir: Path
    previous: StoredReport | Unavailable | None = None
    reports_dir: Path | None = None

    @cached_property
    def key_figures(self) -> KeyFigures:
        """The report's key figures, as stored for the next report's comparison."""
        a = self.analysis
        base = None if a.base_value is None else float(a.base_value["clv"])
        return key_figures(
            a.customers, a.as_of, revenue_last_year=a.revenue_last_year, base_value=base
        )

    @cached_property
    def comparison(self) -> Comparison | None:
        """The report against :attr:`previous` (``None`` without a usable earlier report)."""
        if not isinstance(self.previous, StoredReport):
            return None
        from clvreport.outputs import CustomerRows

        config = self.analysis.config
        previous = self.previous
        problem = _mismatch(previous, config)
        if problem is None:
            try:
                return compare_reports(
                    previous,
                    CustomerRows.of(self.analysis, columns=self.customer_columns).to_pandas(),
                    self.analysis.as_of,
                    now=self.key_figures,
                    model_now=self.analysis.model.model_name,
                    margin=config.gross_margin,
                    contacts=self.contacts,
                    min_control=config.control_groups.min_size,
                )
            except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
                # a damaged or tampered earlier report: this report renders without it
                problem = f"{type(exc).__name__}: {shorten(exc)}"
        self.previous = Unavailable(previous.folder, previous.as_of, (problem,))
        return None

    @cached_property
    def contacts(self) -> pd.DataFrame | None:
        """Who was contacted since the earlier report (the client's contacts export), if any."""
        from clvreport.experiments import read_contacts

        config = self.analysis.config
        if config.contacts is None or not isinstance(self.previous, StoredReport):
            return None
        return read_contacts(
            config.contacts,
            self.analysis.client_dir,
            start=self.previous.as_of,
            end=self.analysis.as_of,
        )

    @cached_property
    def learned(self) -> dict[str, LearnedRate]:
        """What is known of each action's effect: the earlier reports' measurements.

        The earlier report's learned rates (its ``model.json``) updated with the
        measurement of its lists (:func:`clvreport.experiments.learn_rates`);
        empty without earlier measurements (every rate is then an assumption).
        """
        from clvreport.experiments import learn_rates

        if not isinstance(self.previous, StoredReport):
            return {}
        stored = self.previous.model.get("learned_rates")
        prior = {
            str(action): LearnedRate.from_dict(str(action), data)
            for action, data in (stored.items() if isinstance(stored, dict) else ())
            if isinstance(data, dict)
        }
        comparison = self.comparison
        measured = None if comparison is None else comparison.actions_measured
        if measured is None or measured.empty:
            return prior
        promised = dict(zip(measured["action"], measured["promised"], strict=True))
        return learn_rates(measured, promised, prior=prior)

    @cached_property
    def config_rules(self) -> PlanRules:
        """The client's plan rules as ``client.yml`` has them (read once per report)."""
        from clvreport.recommendations import PlanRules

        return PlanRules.from_config(self.analysis.config)

    @cached_property
    def customer_columns(self) -> dict[str, pd.Series]:
        """The columns of ``customers.csv`` but the lists', computed once per report.

        See :func:`clvreport.outputs.customer_columns`: the comparison with an
        earlier report and the files written by :func:`finish` share them. The
        action of each segment is the same under :attr:`config_rules` and
        :attr:`plan_rules` (what was learned changes rates, not actions).
        """
        from clvreport.outputs import customer_columns

        return customer_columns(self.analysis, self.config_rules)

    @cached_property
    def plan_rules(self) -> PlanRules:
        """The client's plan rules, each action's rates times what was learned of its effect."""
        ratios = {action: rate.ratio for action, rate in self.learned.items()}
        return self.config_rules.with_ratios(ratios)

    @cached_property
    def history(self) -> pd.DataFrame:
        """Key figures of every earlier report and this one (oldest first)."""
        if self.reports_dir is None:
            return pd.DataFrame()
        earlier = [
            (day, path) for day, path in list_reports(self.reports_dir) if day < self.analysis.as_of
        ]
        return report_history(earlier, self.key_figures)

    @cached_property
    def customer_actions(self) -> pd.DataFrame:
        """Each customer's action, contact cost and value kept, with the client's overrides.

        See :func:`clvreport.recommendations.customer_actions`; computed once per report.
        """
        from clvreport.experiments import hold_out_controls
        from clvreport.recommendations import customer_actions, plan_actions

        a = self.analysis
        per_customer = customer_actions(a.customers, self.plan_rules)
        groups = a.config.control_groups
        if "value_at_stake" in a.customers and (groups.share > 0 or any(groups.actions.values())):
            # the lists are those of the advised actions: the plan before any is held back
            plan = plan_actions(a.customers, self.plan_rules, per_customer=per_customer)
            paying = plan["profitable"].fillna(False).astype(bool) & (plan["customers"] > 0)
            advised = set(plan.loc[paying, "action"])
            per_customer["group"] = hold_out_controls(
                per_customer,
                advised,
                shares={action: groups.share_of(action) for action in advised},
                client=self.client,
                as_of=a.as_of.isoformat(),
            )
        return per_customer

    @cached_property
    def plan(self) -> pd.DataFrame:
        """The action plan in the report language (:func:`clvreport.recommendations.action_plan`).

        Its list names are the sheet names of ``customers.xlsx``.
        """
        from clvreport.recommendations import action_plan
        from clvreport.sensitivity import break_even_margins, break_even_success_rates

        plan = action_plan(
            self.analysis,
            language=self.t.language,
            per_customer=self.customer_actions,
            rules=self.plan_rules,
            rate_sources={action: rate.source for action, rate in self.learned.items()},
        )
        if "value_at_stake" in self.analysis.customers:
            rates = break_even_success_rates(self.customer_actions, plan, self.plan_rules)
            margins = break_even_margins(plan, self.analysis.config.gross_margin)
            plan["break_even_success_rate"] = plan["action"].map(rates)
            plan["break_even_margin"] = plan["action"].map(margins)
        return plan

    @cached_property
    def sensitivity(self) -> pd.DataFrame | None:
        """Base value and plan net return with each input moved by half (``None`` without a model).

        See :func:`clvreport.sensitivity.sensitivity`.
        """
        from clvreport.sensitivity import sensitivity

        if "value_at_stake" not in self.analysis.customers:
            return None
        return sensitivity(self.analysis, self.customer_actions, self.plan, self.plan_rules)

    @cached_property
    def palette(self) -> plots.Palette:
        """The figures' colours, from the client's brand (primary, secondary, accent)."""
        brand = load_brand(self.analysis.client_dir, self.analysis.config.brand)
        return plots.Palette.from_brand(brand.primary, brand.secondary, brand.accent)

    @property
    def figures_dir(self) -> Path:
        """Folder of the report's PNG figures (created on first use)."""
        folder = self.output_dir / "figures"
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def _mismatch(previous: StoredReport, config: Any) -> str | None:
    """Why an earlier report cannot be compared with this one (``None``: it can).

    Another currency, another kind of business, or files of another date than
    its folder (copied or tampered) make a comparison meaningless.
    """
    model = previous.model
    currency = model.get("currency")
    if currency is not None and currency != config.currency:
        return (
            f"model.json: its amounts are in {shorten(currency, 8)}, "
            f"this report's in {config.currency}"
        )
    business = model.get("business")
    if business not in (None, config.business):
        return f"model.json: it is a {shorten(business, 20)} report, this one {config.business}"
    stored = model.get("as_of")
    if stored is not None and str(stored) != previous.as_of.isoformat():
        return (
            f"model.json: its date {shorten(stored, 20)} is not its folder's "
            f"({previous.as_of.isoformat()})"
        )
    return None


def setup(
    *,
    client: str,
    data_dir: str | Path = "data",
    as_of: str | dt.date | None = None,
    language: str | None = None,
    output_dir: str | Path = ".",
    reports_dir: str | Path | None = None,
    compare_to: str | None = "auto",
) -> ReportContext:
    """Load the client, run the whole analysis and prepare the report language.

    Parameters
    ----------
    client
        Client folder name under ``data_dir``.
    data_dir
        Folder with one sub-folder per client.
    as_of
        Report date; default from ``client.yml``, else the last transaction date.
    language
        ``"nl"`` or ``"en"``; default from ``client.yml``.
    output_dir
        Folder for figures and the data files written by :func:`finish`.
    reports_dir
        Folder of the client's earlier reports (``<out>/<client>/``); without
        it there is no comparison.
    compare_to
        ``"auto"`` (the latest earlier report), a report date ``YYYY-MM-DD``,
        or ``"none"``/``None`` for no comparison.

    Returns
    -------
    ReportContext
        The state every section function takes.

    Examples
    --------
    >>> ctx = setup(client="demo", language="en", output_dir="out")  # doctest: +SKIP
    >>> ctx.t("sections.summary")  # doctest: +SKIP
    'Summary'
    """
    matplotlib.use("Agg")
    client_dir, config = load_client(client, data_dir)
    if isinstance(as_of, str):
        as_of = parse_date(as_of, "as_of")
    analysis = run_analysis(config, client_dir, as_of=as_of)
    brand = load_brand(client_dir, config.brand)
    plots.use_fonts([face.path for face in brand.fonts], brand.base_font)
    t = Translator(language or config.language, config.currency, audience(config.business).name)
    reports = None if reports_dir is None else Path(reports_dir)
    previous = None if reports is None else find_previous(reports, analysis.as_of, compare_to)
    return ReportContext(
        client=client,
        analysis=analysis,
        t=t,
        output_dir=Path(output_dir),
        previous=previous,
        reports_dir=reports,
    )


def report_meta(ctx: ReportContext) -> dict[str, str]:
    """The title-page metadata for the renderer (see :class:`~clvreport.render.base.ReportMeta`).

    Examples
    --------
    >>> report_meta(ctx)["title"]  # doctest: +SKIP
    'Customer value analysis'
    """
    t, analysis = ctx.t, ctx.analysis
    period = t("meta.period", start=t.date(analysis.start), end=t.date(analysis.as_of))
    cover_period = t("meta.data_period", period=period)
    prepared_by = getattr(analysis.config, "prepared_by", None)
    if prepared_by:
        cover_period += " · " + t("meta.prepared_by", name=printable(prepared_by))
    return {
        "title": t("meta.title"),
        "subtitle": t("meta.subtitle", period=period),
        "client_name": printable(analysis.config.name),
        "period": cover_period,
        "date": t("meta.report_date", date=t.date(analysis.as_of)),
        "language": t.language,
        "confidential": t("meta.confidential"),
        "toc_title": t("meta.toc"),
    }


def finish(ctx: ReportContext) -> list[Path]:
    """Write the data files next to the report and ``run.json`` for the pipeline.

    Writes ``customers.csv`` and ``customers.parquet`` (every customer with
    segment, scores and CLV), ``customers.xlsx`` (action lists), ``model.json``
    (the fitted model and the key figures the next report compares with),
    ``run.json`` (the as-of date and title-page metadata) and, when compared
    with an earlier report, ``migration.csv`` and ``comparison.json``.

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> finish(ctx)  # doctest: +SKIP
    """
    from clvreport.memory import release_free_memory
    from clvreport.outputs import write_outputs

    release_free_memory()  # the sections' leftovers, before the largest tables are written
    written = write_outputs(
        ctx.analysis,
        ctx.output_dir,
        ctx.t,
        key_figures=ctx.key_figures,
        per_customer=ctx.customer_actions,  # computed once, for the report and the lists
        newly_at_risk=None if ctx.comparison is None else ctx.comparison.newly_at_risk,
        plan=ctx.plan,
        rules=ctx.plan_rules,
        learned=ctx.learned,
        sensitivity=ctx.sensitivity,
        columns=ctx.customer_columns,
    )
    if ctx.comparison is not None:
        written += write_comparison(ctx.comparison, ctx.output_dir)
    run_info = ctx.output_dir / RUN_INFO
    run_info.write_text(
        json.dumps({"as_of": ctx.analysis.as_of.isoformat(), "meta": report_meta(ctx)}, indent=2),
        encoding="utf-8",
    )
    return [*written, run_info]
