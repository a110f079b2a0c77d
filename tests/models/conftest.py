"""CDNOW sample summary (Fader-Hardie calibration/holdout split) and fitted models.

The summaries come from the production path, ``clvreport.ingest`` and
``clvreport.rfm.rfm_summary``; :func:`build_summary` (fixture ``cdnow_pandas``) is
an independent pandas construction that a test checks them against.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvreport.config import ColumnMapping, CsvOptions, DataPolicies
from clvreport.ingest import Transactions, read_transactions
from clvreport.models import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel
from clvreport.rfm import rfm_summary

DATA = Path(__file__).resolve().parents[1] / "data" / "cdnow_sample.txt"
CALIBRATION_END = pd.Timestamp("1997-09-30")
HOLDOUT_END = pd.Timestamp("1998-06-30")
CDNOW_NAMES = ("customer_id", "sample_id", "date", "quantity", "amount")


def cdnow_transactions() -> pd.DataFrame:
    """CDNOW sample transactions with same-day purchases merged into one (plain pandas)."""
    raw = pd.read_csv(DATA, sep=r"\s+", header=None, names=list(CDNOW_NAMES), dtype={"date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw.groupby(["customer_id", "date"], as_index=False)["amount"].sum()


def build_summary(
    transactions: pd.DataFrame,
    calibration_end: pd.Timestamp,
    holdout_end: pd.Timestamp | None,
    days_per_unit: float = 7.0,
) -> pd.DataFrame:
    """Fader-Hardie summary: x = purchase days - 1, t_x and T from the first purchase."""
    calibration = transactions[transactions["date"] <= calibration_end].sort_values(
        ["customer_id", "date"]
    )
    grouped = calibration.groupby("customer_id")
    first = grouped["date"].min()
    last = grouped["date"].max()
    frequency = grouped.size() - 1
    repeat_spend = grouped["amount"].apply(
        lambda s: float(s.iloc[1:].mean()) if len(s) > 1 else 0.0
    )
    summary = pd.DataFrame(
        {
            "customer_id": first.index.to_numpy(),
            "frequency": frequency.to_numpy(),
            "recency": ((last - first).dt.days / days_per_unit).to_numpy(),
            "T": ((calibration_end - first).dt.days / days_per_unit).to_numpy(),
            "monetary_value": repeat_spend.to_numpy(),
        }
    )
    if holdout_end is not None:
        holdout = transactions[
            (transactions["date"] > calibration_end) & (transactions["date"] <= holdout_end)
        ]
        counts = holdout.groupby("customer_id").size().reindex(summary["customer_id"]).fillna(0)
        summary["frequency_holdout"] = counts.to_numpy().astype(np.int64)
        summary["duration_holdout"] = (holdout_end - calibration_end).days / days_per_unit
    return summary


@pytest.fixture(scope="session")
def cdnow_pandas() -> pd.DataFrame:
    """The calibration summary built independently with plain pandas."""
    return build_summary(cdnow_transactions(), CALIBRATION_END, HOLDOUT_END)


@pytest.fixture(scope="session")
def cdnow_tx() -> Iterator[Transactions]:
    """CDNOW sample read the production way; every row is a real purchase."""
    tx = read_transactions(
        [str(DATA)],
        ColumnMapping(customer_id="customer_id", date="date", amount="amount"),
        csv=CsvOptions(
            header=False, names=CDNOW_NAMES, date_format="%Y%m%d", delimiter="whitespace"
        ),
        policies=DataPolicies(zero_amounts="keep", duplicates="keep"),
    )
    yield tx
    tx.close()


@pytest.fixture(scope="session")
def cdnow(cdnow_tx: Transactions) -> pd.DataFrame:
    """Calibration summary in weeks (39-week calibration, 39-week holdout)."""
    return rfm_summary(
        cdnow_tx, calibration_end="1997-09-30", observation_end="1998-06-30", time_unit="weeks"
    )


@pytest.fixture(scope="session")
def cdnow_full(cdnow_tx: Transactions) -> pd.DataFrame:
    """Summary over the whole 78 weeks, for scoring."""
    return rfm_summary(cdnow_tx, calibration_end="1998-06-30", time_unit="weeks")


@pytest.fixture(scope="session")
def bgnbd(cdnow: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow)


@pytest.fixture(scope="session")
def mbgnbd(cdnow: pd.DataFrame) -> ModifiedBetaGeoModel:
    return ModifiedBetaGeoModel().fit(cdnow)


@pytest.fixture(scope="session")
def paretonbd(cdnow: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(cdnow)


@pytest.fixture(scope="session")
def gamma_gamma(cdnow: pd.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(cdnow)
