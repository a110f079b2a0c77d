"""Probabilistic CLV models: BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma, BG/BB and sBG.

Maximum-likelihood fits on SciPy with analytic gradients and compressed
customer histories, validated against the published CDNOW values; CLV over a
horizon in months with intervals; holdout validation and model choice.

The report calls two functions::

    fit = fit_clv_models(calibration, full, model="auto", time_unit="weeks")
    if fit.usable:
        scores = score_customers(fit, full, horizon_months=12)
    model_json = fit.to_dict()

Examples
--------
>>> from clvreport.models import BetaGeoModel
>>> BetaGeoModel.param_names
('r', 'alpha', 'a', 'b')
"""

from clvreport.models.bgbb import BetaGeoBetaBinomModel
from clvreport.models.bgnbd import BetaGeoModel
from clvreport.models.clv import ClvSettings, customer_lifetime_value, forecast_purchases
from clvreport.models.compression import RfmData, compress_rfm
from clvreport.models.discrete import discrete_summary
from clvreport.models.fitting import MODELS, ClvModelFit, fit_clv_models
from clvreport.models.gammagamma import GammaGammaModel, spend_frequency_correlation
from clvreport.models.mbgnbd import ModifiedBetaGeoModel
from clvreport.models.optimise import FitDiagnostics
from clvreport.models.paretonbd import ParetoNBDModel
from clvreport.models.period import period_forecast
from clvreport.models.predictive import (
    conditional_purchase_pmf,
    holdout_intervals,
    predictive_interval,
    purchase_pmf,
)
from clvreport.models.sbg import ShiftedBetaGeometricModel, fit_cohorts
from clvreport.models.scoring import score_customers, score_segments
from clvreport.models.simulate import simulate_summary
from clvreport.models.units import TimeUnit, convert_duration, months_to_units
from clvreport.models.validation import HoldoutComparison, choose_model, holdout_comparison

__all__ = [
    "MODELS",
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "ClvModelFit",
    "ClvSettings",
    "FitDiagnostics",
    "GammaGammaModel",
    "HoldoutComparison",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "RfmData",
    "ShiftedBetaGeometricModel",
    "TimeUnit",
    "choose_model",
    "compress_rfm",
    "conditional_purchase_pmf",
    "convert_duration",
    "customer_lifetime_value",
    "discrete_summary",
    "fit_clv_models",
    "fit_cohorts",
    "forecast_purchases",
    "holdout_comparison",
    "holdout_intervals",
    "months_to_units",
    "period_forecast",
    "predictive_interval",
    "purchase_pmf",
    "score_customers",
    "score_segments",
    "simulate_summary",
    "spend_frequency_correlation",
]
