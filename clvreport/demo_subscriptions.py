"""Synthetic subscriptions of a Dutch meal-box service, the ``abonnement`` example client.

:func:`generate_subscriptions` draws a seeded, realistic contract export of a
fictitious Dutch meal-box service, Verse Week B.V.; :func:`write_subscriptions_csv`
writes it the way a Dutch subscription system exports it (``;``-separated
UTF-8, Dutch column names, dates as ``dd-mm-yyyy``, amounts with a decimal
comma). Regenerate the committed file with::

    python -m clvreport.demo_subscriptions --out data/abonnement/abonnementen.csv

The same seed always gives a byte-identical file.

How the data is shaped
----------------------
One row per contract (per subscriber). A contract renews every month until it
is cancelled, and cancellation follows the shifted-beta-geometric (sBG) model
(Fader & Hardie, 2007) separately per plan, with the parameters of
:data:`SBG_PARAMS`:

* each subscriber has a churn probability ``theta ~ Beta(alpha, beta)`` per
  month and pays for ``T`` months, ``P(T > t) = (1 - theta)^t``: the
  initial month and ``T - 1`` renewals. Of the subscribers who started on a
  plan, the share still subscribed after ``t`` months is therefore
  ``S(t) = B(alpha, beta + t) / B(alpha, beta)``;
* plan ``duobox`` (two persons) churns like Fader & Hardie's *regular*
  customers (``alpha = 0.704, beta = 1.182``), plan ``gezinsbox`` (families)
  like their *high-end* customers (``alpha = 0.668, beta = 3.806``); their
  yearly parameters are read here as monthly ones;
* ``startdatum`` is a day 1-28 of the start month, so that every period ends
  on the same day of a month; ``einddatum`` is the day the contract ended,
  exactly ``T`` months after the start (the end of the last paid month), so
  the whole months between the two dates are the months paid for;
* contracts still running on the report date (31 December of the last year)
  are right-censored: their ``einddatum`` is empty. No end date lies after the
  report date;
* **cohorts**: new subscribers every month from January 2021 to December
  2024, 100 to 300 a month, with a January (good intentions) and September
  (back to routine) peak, a summer dip and growth over the years; about 60%
  choose the duobox;
* ``prijs_per_periode`` is the monthly price agreed at the start, the list
  price of the plan in the start year (raised every January).

References
----------
.. [1] Fader, P. S., & Hardie, B. G. S. (2007). How to project customer
   retention. Journal of Interactive Marketing, 21(1), 76-90.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clvreport.demo import write_dutch_csv

__all__ = [
    "COLUMNS",
    "DEFAULT_OUT",
    "LIST_PRICES",
    "PLANS",
    "SBG_PARAMS",
    "generate_subscriptions",
    "main",
    "write_subscriptions_csv",
]

#: Column names of the export, in order.
COLUMNS: tuple[str, ...] = (
    "klantnummer",
    "abonnement",
    "startdatum",
    "einddatum",
    "prijs_per_periode",
)

#: Where the example file lives, relative to the repository root.
DEFAULT_OUT = Path("data/abonnement/abonnementen.csv")

#: The plans, in order.
PLANS: tuple[str, ...] = ("duobox", "gezinsbox")

#: sBG parameters per plan, per monthly renewal: churn probability ``theta ~ Beta(alpha, beta)``.
#: The values are Fader & Hardie's (2007) "regular" and "high end" customers.
SBG_PARAMS: dict[str, dict[str, float]] = {
    "duobox": {"alpha": 0.704, "beta": 1.182},
    "gezinsbox": {"alpha": 0.668, "beta": 3.806},
}

#: Monthly list price (€) per plan for contracts started in 2021, 2022, 2023 and 2024
#: (later years keep the last price).
LIST_PRICES: dict[str, tuple[float, ...]] = {
    "duobox": (159.95, 164.95, 174.95, 179.95),
    "gezinsbox": (259.95, 269.95, 284.95, 294.95),
}

# Month multipliers of the number of new subscribers (January ... December).
MONTH_FACTOR = np.array([1.35, 1.10, 1.00, 0.95, 0.85, 0.75, 0.70, 0.80, 1.25, 1.10, 1.00, 0.80])


@dataclass(frozen=True)
class _Shape:
    """Acquisition parameters of the synthetic meal-box service."""

    new_per_month: float = 165.0
    growth: float = 1.35  # acquisition grows linearly from 1x to this factor
    min_new: int = 100
    max_new: int = 300
    share_duobox: float = 0.60


def generate_subscriptions(
    first_month: str = "2021-01",
    last_month: str = "2024-12",
    seed: int = 2024,
) -> pd.DataFrame:
    """Generate the contract export of a synthetic Dutch meal-box service.

    Parameters
    ----------
    first_month, last_month
        First and last month in which new contracts start (``yyyy-mm``,
        inclusive). The report date is the last day of ``last_month``.
    seed
        Seed of the random generator; the same arguments give the same data.

    Returns
    -------
    pandas.DataFrame
        One row per contract, sorted by start date and customer number, with
        columns ``klantnummer`` (int, handed out in order of the start date),
        ``abonnement`` (``duobox`` or ``gezinsbox``), ``startdatum``
        (``datetime64``), ``einddatum`` (``datetime64``; ``NaT`` while the
        contract is active) and ``prijs_per_periode`` (float €, per month).

    Raises
    ------
    ValueError
        If ``last_month`` is before ``first_month``.

    Notes
    -----
    Contracts churn by the sBG model [1]_ with :data:`SBG_PARAMS` per plan:
    a contract with end date lasted exactly the whole months between
    ``startdatum`` and ``einddatum``. See the module documentation.

    References
    ----------
    .. [1] Fader & Hardie (2007), Journal of Interactive Marketing 21(1).

    Examples
    --------
    >>> df = generate_subscriptions("2024-01", "2024-06", seed=1)
    >>> sorted(df["abonnement"].unique())
    ['duobox', 'gezinsbox']
    >>> bool((df["einddatum"].dropna() <= pd.Timestamp("2024-06-30")).all())
    True
    >>> bool((df["einddatum"].dropna() > df["startdatum"][df["einddatum"].notna()]).all())
    True
    """
    months = pd.period_range(first_month, last_month, freq="M")
    if months.size == 0:
        raise ValueError(f"last_month ({last_month}) is before first_month ({first_month})")
    shape = _Shape()
    rng = np.random.default_rng(seed)
    as_of = months[-1].end_time.normalize()

    # New contracts per month: seasonal, growing, 100-300 a month.
    trend = np.linspace(1.0, shape.growth, months.size)
    expected = shape.new_per_month * trend * MONTH_FACTOR[months.month - 1]
    new = np.clip(rng.poisson(expected), shape.min_new, shape.max_new)
    cohort = np.repeat(np.arange(months.size), new)
    n = cohort.size
    start = months[cohort].to_timestamp() + pd.to_timedelta(rng.integers(0, 28, n), unit="D")
    plan = np.where(rng.random(n) < shape.share_duobox, 0, 1)

    # sBG: a churn probability per subscriber, a geometric number of paid months.
    theta = np.empty(n)
    for index, name in enumerate(PLANS):
        rows = plan == index
        params = SBG_PARAMS[name]
        theta[rows] = rng.beta(params["alpha"], params["beta"], int(rows.sum()))
    paid = rng.geometric(np.clip(theta, 1e-12, 1.0))
    # Contracts that would last beyond the data are simply active: cap before date arithmetic.
    paid = np.minimum(paid, months.size + 1)
    end_month = start.year.to_numpy() * 12 + start.month.to_numpy() - 1 + paid
    end = pd.to_datetime(
        {
            "year": end_month // 12,
            "month": end_month % 12 + 1,
            "day": start.day.to_numpy(),
        }
    )
    end = end.where(end <= as_of)

    year_index = np.clip(start.year.to_numpy() - 2021, 0, len(LIST_PRICES["duobox"]) - 1)
    prices = np.array([LIST_PRICES[name] for name in PLANS])
    contracts = pd.DataFrame(
        {
            "abonnement": np.array(PLANS)[plan],
            "startdatum": start,
            "einddatum": end.to_numpy(),
            "prijs_per_periode": prices[plan, year_index],
        }
    )
    order = np.lexsort((rng.random(n), contracts["startdatum"].to_numpy()))
    contracts = contracts.iloc[order].reset_index(drop=True)
    contracts["klantnummer"] = 500_001 + np.arange(n)
    return contracts.loc[:, list(COLUMNS)]


def write_subscriptions_csv(path: Path | str = DEFAULT_OUT, **kwargs: int | str) -> Path:
    """Generate the subscriptions and write them as a Dutch CSV export.

    The file is ``;``-separated UTF-8 with a header line and Unix (LF) line
    endings; dates are written ``dd-mm-yyyy`` (``einddatum`` empty while the
    contract is active) and ``prijs_per_periode`` with a decimal comma
    (``179,95``).

    Parameters
    ----------
    path
        Output file; its folder is created when missing.
    **kwargs
        Passed to :func:`generate_subscriptions` (``first_month``,
        ``last_month``, ``seed``).

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> write_subscriptions_csv("/tmp/abonnementen.csv")  # doctest: +SKIP
    PosixPath('/tmp/abonnementen.csv')
    """
    frame = generate_subscriptions(**kwargs)  # type: ignore[arg-type]
    return write_dutch_csv(frame, path, dates=["startdatum", "einddatum"])


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m clvreport.demo_subscriptions [--out FILE] [--seed S]``.

    Parameters
    ----------
    argv
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        Exit status, 0 on success.

    Examples
    --------
    >>> main(["--out", "/tmp/abonnementen.csv"])  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(
        prog="python -m clvreport.demo_subscriptions",
        description="Regenerate the synthetic subscriptions of the abonnement example client.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    parser.add_argument("--first-month", default="2021-01", help="default: 2021-01")
    parser.add_argument("--last-month", default="2024-12", help="default: 2024-12")
    parser.add_argument("--seed", type=int, default=2024, help="default: 2024")
    args = parser.parse_args(argv)
    out = write_subscriptions_csv(
        args.out, first_month=args.first_month, last_month=args.last_month, seed=args.seed
    )
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
