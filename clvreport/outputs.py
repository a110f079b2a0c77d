"""The data files written next to the report: customers.csv/.xlsx and model.json."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from clvreport.analysis import Analysis
from clvreport.i18n import Translator
from clvreport.recommendations import load_recommendation_rules, recommend

__all__ = ["CUSTOMER_COLUMNS", "customer_table", "write_outputs"]

CUSTOMER_COLUMNS = [
    "customer_id",
    "segment",
    "value_tier",
    "n_purchases",
    "revenue",
    "first_purchase",
    "last_purchase",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "historic_clv",
    "p_alive",
    "expected_purchases",
    "expected_spend",
    "clv",
    "clv_low",
    "clv_high",
    "value_at_risk",
]


def customer_table(analysis: Analysis) -> pd.DataFrame:
    """One row per customer with segment, history, model inputs and scores.

    Columns are :data:`CUSTOMER_COLUMNS` (the model columns only when a model
    could be used); ``frequency``, ``recency``, ``T`` and ``monetary_value``
    are in the client's time unit.

    Examples
    --------
    >>> customer_table(analysis).columns[:3].tolist()  # doctest: +SKIP
    ['customer_id', 'segment', 'value_tier']
    """
    from clvreport.concentration import value_tiers

    customers = analysis.customers.copy()
    value = "clv" if analysis.has_predictions else "revenue"
    customers["value_tier"] = value_tiers(customers, value)
    summary = analysis.summary[["customer_id", "frequency", "recency", "T", "monetary_value"]]
    customers = customers.merge(summary, on="customer_id", how="left")
    columns = [c for c in CUSTOMER_COLUMNS if c in customers]
    return customers[columns].sort_values(value, ascending=False, ignore_index=True)


def write_outputs(analysis: Analysis, folder: Path | str, t: Translator) -> list[Path]:
    """Write ``customers.csv``, ``customers.xlsx`` and ``model.json`` into ``folder``.

    ``customers.xlsx`` holds one sheet per recommended segment (largest money
    at stake first) with the recommended action, for account managers.

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> write_outputs(analysis, "out", translator("nl"))  # doctest: +SKIP
    """
    folder = Path(folder)
    customers = customer_table(analysis)
    csv_path = folder / "customers.csv"
    customers.to_csv(csv_path, index=False, float_format="%.4f")

    labels = analysis.rules.labels(t.language)
    actions = recommend(
        analysis.segments, load_recommendation_rules(analysis.config.recommendations)
    )
    xlsx_path = folder / "customers.xlsx"
    with pd.ExcelWriter(xlsx_path, engine="xlsxwriter") as writer:
        for row in actions.itertuples(index=False):
            sheet = customers[customers["segment"] == row.segment].copy()
            sheet.insert(1, "action", t(f"recommendations.actions.{row.action}.what"))
            sheet.to_excel(writer, sheet_name=labels[row.segment][:31], index=False)

    model_path = folder / "model.json"
    model = analysis.model.to_dict()
    model["horizon_months"] = analysis.config.horizon_months
    model["discount_rate"] = analysis.config.discount_rate
    model["gross_margin"] = analysis.config.gross_margin
    model["calibration_end"] = (
        analysis.calibration_end.isoformat() if analysis.calibration_end else None
    )
    model["as_of"] = analysis.as_of.isoformat()
    model["historic"] = analysis.figures.as_dict()
    model_path.write_text(json.dumps(model, indent=2, default=str), encoding="utf-8")
    return [csv_path, xlsx_path, model_path]
