"""Boundary optima are reported as their limiting model; impossible periods fail fast."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvreport.cli.fit
from clvreport.cli._app import app
from clvreport.errors import DataError
from clvreport.models import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel
from clvreport.models.base import MaximumLikelihoodModel

DATA = Path(__file__).resolve().parents[1] / "data" / "cdnow_sample.txt"
# the CDNOW sample as in test_cli_fit, without a calibration end
CDNOW_ARGS = [
    "fit",
    str(DATA),
    "--no-header",
    "--names",
    "id,sample,date,qty,amount",
    "--customer-col",
    "id",
    "--date-col",
    "date",
    "--amount-col",
    "amount",
    "--date-format",
    "%Y%m%d",
    "--delimiter",
    "whitespace",
]
runner = CliRunner()


def homogeneous_summary(n: int = 2000, rate: float = 0.3, seed: int = 1) -> pd.DataFrame:
    """Poisson purchases at the same rate for everyone, nobody ever drops out."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(20.0, 52.0, n)
    x = rng.poisson(rate * T)
    t_x = np.array(
        [rng.uniform(0.0, Ti, xi).max() if xi else 0.0 for xi, Ti in zip(x, T, strict=True)]
    )
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T})


@pytest.mark.parametrize("model_class", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_homogeneous_data_gives_the_flagged_limiting_model(model_class) -> None:
    summary = homogeneous_summary()
    model = model_class().fit(summary)
    assert model.converged_
    assert model.boundary_ is not None and "no_dropout" in model.boundary_
    assert "boundary optimum" in model.diagnostics_.message
    x, t_x, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    alive = model.probability_alive(x, t_x, T)
    expected = model.expected_purchases(52.0, x, t_x, T)
    assert np.isfinite(alive).all() and np.isfinite(expected).all()
    np.testing.assert_allclose(alive, 1.0, atol=1e-4)  # nobody drops out
    # no dropout: a year's purchases at the common rate, about 0.3 * 52
    assert np.mean(expected) == pytest.approx(0.3 * 52, rel=0.1)
    assert np.isfinite(model.expected_purchases_new_customer(52.0))
    saved = model.to_dict()
    assert saved["boundary"] == list(model.boundary_)
    assert MaximumLikelihoodModel.from_dict(saved).boundary_ == model.boundary_


def test_interior_optimum_has_no_boundary_flag(bgnbd: BetaGeoModel) -> None:
    assert bgnbd.boundary_ is None and bgnbd.to_dict()["boundary"] is None


@pytest.mark.parametrize(
    "extra",
    [
        ["--as-of", "1999-12-31", "--calibration-end", "1999-06-30", "--model", "pnbd"],
        [
            "--as-of",
            "1999-12-31",
            "--calibration-end",
            "1998-09-30",
            "--holdout-end",
            "1999-06-30",
            "--model",
            "pnbd",
        ],
    ],
)
def test_calibration_end_after_the_last_transaction_is_a_clear_error(extra, monkeypatch) -> None:
    def no_fit(*args, **kwargs):  # the check comes before any model is fitted
        raise AssertionError("a model was fitted before the period was checked")

    monkeypatch.setattr(clvreport.cli.fit, "fit_clv_models", no_fit)
    result = runner.invoke(app, [*CDNOW_ARGS, *extra])
    assert result.exit_code != 0
    assert "after the last transaction (1998-06-30)" in result.output


def test_period_check_rejects_a_period_past_the_data() -> None:
    from clvreport.rfm import _check_period

    class Tx:
        first_date = pd.Timestamp("1997-01-01").date()
        last_date = pd.Timestamp("1998-06-30").date()
        as_of = pd.Timestamp("1999-12-31").date()

    with pytest.raises(DataError, match="after the last transaction"):
        _check_period(Tx, pd.Timestamp("1998-07-31").date(), None)
    with pytest.raises(DataError, match="holdout period would hold no purchases"):
        _check_period(Tx, pd.Timestamp("1998-06-30").date(), pd.Timestamp("1999-12-31").date())
    with pytest.raises(DataError, match=r"holdout end .* after the last transaction"):
        _check_period(Tx, pd.Timestamp("1998-01-31").date(), pd.Timestamp("1999-06-30").date())
    # the as-of date itself may lie after the last transaction (a quiet last stretch)
    _check_period(Tx, Tx.as_of, None)
    _check_period(Tx, pd.Timestamp("1998-01-31").date(), Tx.as_of)
