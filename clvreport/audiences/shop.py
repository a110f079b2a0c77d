"""Shop customers (``business: transactions``): BG/NBD, MBG/NBD or Pareto/NBD with Gamma-Gamma.

Purchases at any time: the model is chosen on a holdout, scored per customer
(in this process, or on the Spark executors for ``engine: spark``) and checked
by its 90% purchase intervals and the weekly tracking of repeat purchases.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from clvreport.audiences.base import Audience, ModelStep

if TYPE_CHECKING:
    from clvreport.config import ClientConfig
    from clvreport.ingest import Transactions
    from clvreport.metrics import ObservationWindow
    from clvreport.models import ClvModelFit

__all__ = ["ShopAudience"]


class ShopAudience(Audience):
    """Customers of a shop: purchases at any time (see the module docstring)."""

    business: ClassVar[str] = "transactions"
    name: ClassVar[str] = "customers"

    def model_step(
        self,
        config: ClientConfig,
        transactions: Transactions,
        source: Any,
        window: ObservationWindow,
    ) -> ModelStep:
        """Fit the models on the calibration period (with a holdout) and the full history."""
        from clvreport.analysis import (
            _score,
            _tracking,
            calibration_end_for,
            check_holdout_has_data,
        )
        from clvreport.models import fit_clv_models
        from clvreport.models.season import daily_purchases, season_from_transactions
        from clvreport.models.tracking import daily_repeat_purchases
        from clvreport.rfm import rfm_summaries

        as_of = transactions.as_of
        engine = transactions.engine
        calibration_end = calibration_end_for(window.start, as_of, config.holdout_months)
        check_holdout_has_data(calibration_end, transactions.last_date, config.holdout_months)
        # one pass over the rows for both summaries (they share the grouping by customer and day)
        periods = [(as_of, None)] + ([(calibration_end, as_of)] if calibration_end else [])
        full, *rest = rfm_summaries(transactions, periods, time_unit=config.time_unit)
        calibration = rest[0] if rest else full
        # the seasonal index of the whole history scores; the calibration period's own
        # (estimated without the holdout) is what the holdout check uses
        enabled = config.season != "off"
        # one count per day serves the seasonal index (every customer) and the tracking
        # table (the calibration customers)
        counts = daily_repeat_purchases(transactions, calibration_end or as_of, as_of)
        # the heavy queries are done: what DuckDB kept of them is not held through the fits
        engine.release_memory()
        daily = daily_purchases(transactions, as_of, counts)
        purchase_season = season_from_transactions(
            transactions, as_of, daily=daily, enabled=enabled
        )
        calibration_season = (
            season_from_transactions(transactions, calibration_end, daily=daily, enabled=enabled)
            if calibration_end is not None
            else purchase_season
        )
        del daily
        model = fit_clv_models(
            calibration,
            full,
            time_unit=config.time_unit,
            horizon_months=config.horizon_months,
            season=purchase_season,
            calibration_season=calibration_season,
        )
        # Spark scores on its executors, so while its session is open; in-process
        # scoring waits until the engine is closed (complete)
        on_spark = engine.dialect.name == "spark"
        scores = _score(model, full, config, engine) if model.usable and on_spark else None
        return ModelStep(
            summary=full,
            model=model,
            scores=scores,
            base_value=None,
            calibration_end=calibration_end,
            tracking=_tracking(transactions, model, calibration_end, as_of, counts),
            calibration=calibration,
        )

    def complete(self, step: ModelStep, config: ClientConfig, engine: Any) -> ModelStep:
        """The holdout intervals, every customer's scores and lifetime value, the base's value."""
        from clvreport.analysis import (
            _base_value,
            _holdout_coverage,
            _score_with_base,
            join_columns,
        )
        from clvreport.memory import release_free_memory
        from clvreport.models.next_purchase import chosen_window_check, next_purchase_table
        from clvreport.models.scoring import clear_forecast_cache, lifetime_values

        model: ClvModelFit = step.model  # type: ignore[assignment]
        full = step.summary
        if step.calibration_end and step.calibration is not None:
            # one core's work for the most part, but not beside the scoring: with 17 million
            # customers both peaks at once took the report past 16 GiB
            step.intervals = _holdout_coverage(model, step.calibration)
            step.next_purchase_check = chosen_window_check(model, step.calibration)
        step.calibration = None
        scores, base_value = step.scores, None
        if scores is None and model.usable:
            # in this process: the customers' ranges and the base's total from one set of draws
            scores, base_value = _score_with_base(model, full, config)
            release_free_memory()  # the chunks' arrays, before the lifetime values
        if scores is not None:
            lifetime = lifetime_values(
                model,
                full,
                years=config.lifetime_years,
                discount_rate=config.discount_rate,
                gross_margin=config.gross_margin,
            )
            scores = join_columns(scores, lifetime.reset_index(drop=True))
            upcoming = next_purchase_table(model, full, horizon_months=config.horizon_months)
            scores = join_columns(scores, upcoming)
        step.scores = scores
        if base_value is None and model.usable:
            base_value = _base_value(model, full, config)
        step.base_value = base_value
        clear_forecast_cache()  # the base's total was the last use of the kept forecast
        return step

    def rescore(
        self,
        analysis: Any,
        ids: pd.Index,
        *,
        horizon_months: int,
        discount_rate: float,
        gross_margin: float,
    ) -> pd.DataFrame:
        """Point values of the customers ``ids`` (``point_values``)."""
        from clvreport.models.scoring import point_values

        summary = analysis.summary
        # Arrow's set lookup: pandas' isin on strings loops in Python (12 CPU-s at 1M rows)
        wanted = pc.is_in(
            pa.array(summary["customer_id"].astype(str)), value_set=pa.array(ids.astype(str))
        )
        summary = summary[wanted.to_numpy(zero_copy_only=False)]
        return point_values(
            analysis.model,
            summary,
            horizon_months=horizon_months,
            discount_rate=discount_rate,
            gross_margin=gross_margin,
        )

    def fit_from_dict(self, data: Mapping[str, Any]) -> ClvModelFit:
        """The shop models of an earlier ``model.json``."""
        from clvreport.models.fitting import ClvModelFit

        return ClvModelFit.from_dict(data)

    def period_forecast(
        self, fit: Any, old: pd.DataFrame, days: int, start: dt.date
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str] | None:
        """Purchases and revenue over ``days`` in the model's time (seasonal where it was)."""
        from clvreport.models.period import period_forecast
        from clvreport.models.units import convert_duration

        needed = ["frequency", "recency", "T", "monetary_value"]
        if not set(needed) <= set(old.columns):
            return None
        scored = old[old[needed].notna().all(axis=1)]
        t = float(convert_duration(float(days), "days", fit.time_unit))
        segments, _ = period_forecast(fit, scored, scored["segment"], t, start=start)
        everyone = pd.Series("total", index=scored.index)
        total, _ = period_forecast(fit, scored, everyone, t, start=start)
        return segments, total, scored, "frequency"
