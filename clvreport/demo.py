"""Synthetic transactions of a Dutch webshop, the ``demo`` example client.

:func:`generate_transactions` draws a seeded, realistic order export of a
fictitious Dutch webshop; :func:`write_demo_csv` writes it the way a Dutch
shop system exports it (``;``-separated UTF-8, Dutch column names, dates as
``dd-mm-yyyy``, amounts with a decimal comma). Regenerate the committed file
with::

    python -m clvreport.demo --out data/demo/transactions.csv

The same seed always gives a byte-identical file.

How the data is shaped
----------------------
Most customers follow a Pareto/NBD process (Schmittlein, Morrison & Colombo,
1987): while alive a customer buys at a Poisson rate drawn from a gamma
distribution, and stays alive for an exponential lifetime whose rate is gamma
distributed as well. Order values follow the gamma-gamma spend model (Fader,
Hardie & Lee, 2005). The probabilistic models of :mod:`clvreport.models`
therefore fit this data sensibly. On top of that:

* **one-off big spenders** place a single large order and never return;
* **loyal regulars** buy modest baskets every few weeks and do not drop out;
* **acquisition** grows over time, and all purchases follow a seasonal
  pattern: a December peak (Sinterklaas and Christmas), a summer dip, a
  Black Friday weekend spike and a weekday rhythm;
* **returns** (status ``retour``) follow a few % of orders as separate rows
  with a negative amount, order number ``<order>-R``;
* **cancelled orders** carry status ``geannuleerd``; orders of the last days
  are still ``verzonden`` (shipped), all others ``afgerond`` (completed);
* **guest checkouts** have no customer number;
* a **couple of rows are exported twice** (exact duplicates);
* **channels** ``webshop``, ``app`` and ``winkel`` (the physical shop, Dutch
  customers only) and **countries** ``NL`` (most), ``BE`` and ``DE``.

References
----------
.. [1] Schmittlein, D. C., Morrison, D. G., & Colombo, R. (1987). Counting your
   customers: Who are they and what will they do next? Management Science,
   33(1), 1-24.
.. [2] Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using
   iso-value curves for customer base analysis. Journal of Marketing Research,
   42(4), 415-430.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "COLUMNS",
    "DEFAULT_OUT",
    "generate_transactions",
    "main",
    "write_demo_csv",
    "write_dutch_csv",
]

#: Column names of the export, in order.
COLUMNS: tuple[str, ...] = (
    "bestelnummer",
    "klantnummer",
    "besteldatum",
    "bedrag",
    "kanaal",
    "land",
    "status",
)

#: Where the committed example file lives, relative to the repository root.
DEFAULT_OUT = Path("data/demo/transactions.csv")

DAYS_PER_WEEK = 7.0

# Month multipliers of the daily purchase intensity (January ... December):
# winter sales in January, a summer dip, the run-up to Sinterklaas and Christmas.
MONTH_FACTOR = np.array([0.95, 0.80, 0.90, 0.95, 0.95, 0.85, 0.70, 0.75, 0.95, 1.00, 1.25, 1.70])
# Weekday multipliers (Monday ... Sunday): Dutch webshops sell most on Sunday and Monday.
WEEKDAY_FACTOR = np.array([1.10, 1.00, 1.00, 0.95, 0.90, 0.85, 1.20])
# Black Friday weekend: Friday, Saturday, Sunday and Cyber Monday.
BLACK_FRIDAY_FACTOR = np.array([3.0, 1.8, 1.6, 2.2])

CHANNELS = np.array(["webshop", "app", "winkel"])
COUNTRIES = np.array(["NL", "BE", "DE"])
COUNTRY_SHARE = np.array([0.85, 0.11, 0.04])


@dataclass(frozen=True)
class _Shape:
    """Behavioural parameters of the synthetic shop (time in weeks, money in €)."""

    share_big_spenders: float = 0.04
    share_regulars: float = 0.06
    # Pareto/NBD heterogeneity: purchase rate lambda ~ Gamma(r, rate alpha),
    # dropout rate mu ~ Gamma(s, rate beta), both per week.
    r: float = 0.75
    alpha: float = 20.0
    s: float = 0.6
    beta: float = 20.0
    # Gamma-gamma spend: order value ~ Gamma(p, rate nu), nu ~ Gamma(q, rate gamma);
    # mean order value p * gamma / (q - 1) = € 60.
    p: float = 6.0
    q: float = 4.0
    gamma: float = 30.0
    # Loyal regulars: an order every ~4 weeks, modest baskets around € 35.
    regular_rate_shape: float = 8.0
    regular_rate_mean: float = 0.25
    regular_mean_value: float = 35.0
    # One-off big spenders: one order, log-normal around € 650.
    big_median_value: float = 650.0
    big_sigma: float = 0.45
    # Acquisition grows linearly from 1x at the start to this factor at the end.
    acquisition_growth: float = 1.8
    # Guest checkouts as a share of the registered customers' orders.
    guest_order_share: float = 0.05
    guest_mean_value: float = 55.0
    return_share: float = 0.04
    cancel_share: float = 0.015
    n_duplicates: int = 3
    shipped_days: int = 5
    preferred_channel_share: float = 0.85


def _daily_season(days: pd.DatetimeIndex) -> np.ndarray:
    """Relative purchase intensity of each day (month × weekday × Black Friday).

    Parameters
    ----------
    days
        Consecutive calendar days.

    Returns
    -------
    numpy.ndarray
        One positive weight per day.
    """
    weight = MONTH_FACTOR[days.month - 1] * WEEKDAY_FACTOR[days.day_of_week]
    for year in np.unique(days.year):
        november = pd.date_range(f"{year}-11-01", f"{year}-11-30", freq="D")
        # The day after Thanksgiving, the fourth Thursday of November.
        black_friday = november[november.day_of_week == 3][3] + pd.Timedelta(days=1)
        for offset, factor in enumerate(BLACK_FRIDAY_FACTOR):
            weight[days == black_friday + pd.Timedelta(days=offset)] *= factor
    return weight


def _thinned_purchases(
    rng: np.random.Generator,
    start: np.ndarray,
    stop: np.ndarray,
    rate_per_day: np.ndarray,
    season: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Seasonal Poisson purchases of many customers at once, by thinning.

    Parameters
    ----------
    rng
        Random generator.
    start, stop
        Per customer, the (fractional) day index the process runs from and to.
    rate_per_day
        Per customer, the purchase rate on an average day.
    season
        Relative intensity of each day (mean about 1).

    Returns
    -------
    customer, day : numpy.ndarray
        Customer index and day index of every purchase.
    """
    peak = season.max()
    length = np.maximum(stop - start, 0.0)
    n_candidates = rng.poisson(rate_per_day * peak * length)
    customer = np.repeat(np.arange(start.size), n_candidates)
    time = start[customer] + rng.random(customer.size) * length[customer]
    day = np.minimum(time.astype(np.int64), season.size - 1)
    keep = rng.random(customer.size) < season[day] / peak
    return customer[keep], day[keep]


def generate_transactions(
    n_customers: int = 5000,
    start: str = "2022-01-01",
    end: str = "2024-12-31",
    seed: int = 2024,
) -> pd.DataFrame:
    """Generate the order export of a synthetic Dutch webshop.

    Parameters
    ----------
    n_customers
        Number of registered customers (each has at least one order row).
    start, end
        First and last calendar day of the export (ISO dates, inclusive).
    seed
        Seed of the random generator; the same arguments give the same data.

    Returns
    -------
    pandas.DataFrame
        One row per order or return, sorted by date and order number, with
        columns ``bestelnummer`` (str), ``klantnummer`` (nullable ``Int64``;
        missing for guest checkouts), ``besteldatum`` (``datetime64``),
        ``bedrag`` (float €, incl. VAT; negative for returns), ``kanaal``,
        ``land`` and ``status`` (``afgerond``, ``verzonden``, ``geannuleerd``
        or ``retour``).

    Raises
    ------
    ValueError
        If ``n_customers`` is not positive or ``end`` is before ``start``.

    Notes
    -----
    Registered customers are a mix of Pareto/NBD customers [1]_ with
    gamma-gamma order values [2]_, loyal regulars and one-off big spenders; see
    the module documentation for the full shape.

    References
    ----------
    .. [1] Schmittlein, Morrison & Colombo (1987), Management Science 33(1).
    .. [2] Fader, Hardie & Lee (2005), Journal of Marketing Research 42(4).

    Examples
    --------
    >>> df = generate_transactions(n_customers=200, seed=1)
    >>> df["klantnummer"].nunique()
    200
    >>> bool((df.loc[df["status"] == "retour", "bedrag"] < 0).all())
    True
    """
    if n_customers < 1:
        raise ValueError(f"n_customers must be at least 1, got {n_customers}")
    days = pd.date_range(start, end, freq="D")
    if days.size == 0:
        raise ValueError(f"end ({end}) is before start ({start})")
    shape = _Shape()
    rng = np.random.default_rng(seed)
    season = _daily_season(days)
    season = season / season.mean()
    n_days = days.size

    # Customer types: 0 = Pareto/NBD, 1 = loyal regular, 2 = one-off big spender.
    kind = rng.choice(
        3,
        size=n_customers,
        p=[
            1 - shape.share_regulars - shape.share_big_spenders,
            shape.share_regulars,
            shape.share_big_spenders,
        ],
    )
    # Acquisition: seasonal and growing; regulars were mostly won in the first half.
    trend = np.linspace(1.0, shape.acquisition_growth, n_days)
    acquisition = season * trend
    first_day = rng.choice(n_days, size=n_customers, p=acquisition / acquisition.sum())
    first_half = acquisition[: n_days // 2]
    is_regular = kind == 1
    first_day[is_regular] = rng.choice(
        first_half.size, size=int(is_regular.sum()), p=first_half / first_half.sum()
    )
    first_time = first_day + rng.random(n_customers)

    # Repeat purchases while alive (Pareto/NBD; regulars never drop out).
    rate_week = rng.gamma(shape.r, 1 / shape.alpha, n_customers)
    rate_week[is_regular] = rng.gamma(
        shape.regular_rate_shape,
        shape.regular_rate_mean / shape.regular_rate_shape,
        int(is_regular.sum()),
    )
    dropout_week = rng.gamma(shape.s, 1 / shape.beta, n_customers)
    lifetime_days = rng.exponential(1 / dropout_week) * DAYS_PER_WEEK
    lifetime_days[is_regular] = np.inf
    stop = np.minimum(first_time + lifetime_days, n_days)
    stop[kind == 2] = first_time[kind == 2]  # big spenders never come back
    repeat_customer, repeat_day = _thinned_purchases(
        rng, first_time, stop, rate_week / DAYS_PER_WEEK, season
    )
    customer = np.concatenate([np.arange(n_customers), repeat_customer])
    day = np.concatenate([first_day, repeat_day])

    # Order values: gamma-gamma for most, modest for regulars, large for big spenders.
    nu = rng.gamma(shape.q, 1 / shape.gamma, n_customers)
    nu[is_regular] = shape.p / shape.regular_mean_value * rng.uniform(0.8, 1.25, is_regular.sum())
    amount = rng.gamma(shape.p, 1 / nu[customer])
    big_order = kind[customer] == 2
    amount[big_order] = rng.lognormal(
        np.log(shape.big_median_value), shape.big_sigma, int(big_order.sum())
    )

    # Country per customer; channel per order, mostly the customer's preferred one.
    country = rng.choice(3, size=n_customers, p=COUNTRY_SHARE)
    preferred = rng.choice(3, size=n_customers, p=[0.62, 0.26, 0.12])
    preferred[(country != 0) & (preferred == 2)] = 0  # only Dutch customers visit the shop
    channel = np.where(
        rng.random(customer.size) < shape.preferred_channel_share,
        preferred[customer],
        rng.choice(2, size=customer.size, p=[0.7, 0.3]),
    )

    # Guest checkouts: no customer number, webshop or shop, one order each.
    n_guest = round(shape.guest_order_share * customer.size)
    guest_day = rng.choice(n_days, size=n_guest, p=season / season.sum())
    guest_amount = rng.gamma(4.0, shape.guest_mean_value / 4.0, n_guest)
    guest_country = rng.choice(3, size=n_guest, p=COUNTRY_SHARE)
    guest_channel = np.where(
        (guest_country == 0) & (rng.random(n_guest) < 0.3), 2, 0
    )  # 30% of Dutch guests pay in the shop

    # Customer numbers in order of acquisition, as a shop system hands them out.
    rank = np.empty(n_customers, dtype=np.int64)
    rank[np.lexsort((first_time,))] = np.arange(n_customers)
    klantnummer = pd.array(100_001 + rank[customer], dtype="Int64")
    orders = pd.DataFrame(
        {
            "klantnummer": pd.concat(
                [pd.Series(klantnummer), pd.Series(pd.NA, index=range(n_guest), dtype="Int64")],
                ignore_index=True,
            ),
            "day": np.concatenate([day, guest_day]),
            "bedrag": np.round(np.concatenate([amount, guest_amount]), 2),
            "kanaal": CHANNELS[np.concatenate([channel, guest_channel])],
            "land": COUNTRIES[np.concatenate([country[customer], guest_country])],
        }
    )
    orders["bedrag"] = orders["bedrag"].clip(lower=2.95)
    # Order numbers follow the date; orders of one day in random order.
    orders = orders.iloc[np.lexsort((rng.random(len(orders)), orders["day"].to_numpy()))]
    orders = orders.reset_index(drop=True)
    orders["bestelnummer"] = (220_001 + np.arange(len(orders))).astype(str)
    shipped = orders["day"].to_numpy() >= n_days - shape.shipped_days
    status = np.where(shipped, "verzonden", "afgerond").astype(object)
    status[rng.random(len(orders)) < shape.cancel_share] = "geannuleerd"
    orders["status"] = status

    # Returns: a few % of delivered orders come back, fully or in part, 3-28 days later.
    delivered = orders[orders["status"] != "geannuleerd"]
    returned = delivered[rng.random(len(delivered)) < shape.return_share].copy()
    part = np.where(rng.random(len(returned)) < 0.6, 1.0, rng.uniform(0.3, 0.8, len(returned)))
    returned["bedrag"] = -np.round(returned["bedrag"].to_numpy() * part, 2)
    returned["day"] = returned["day"] + rng.integers(3, 29, len(returned))
    returned["bestelnummer"] = returned["bestelnummer"] + "-R"
    returned["status"] = "retour"
    returned = returned[returned["day"] < n_days]  # not yet returned at the export date

    # A couple of rows exported twice.
    registered = np.flatnonzero(orders["klantnummer"].notna().to_numpy())
    twice = orders.iloc[rng.choice(registered, size=shape.n_duplicates, replace=False)]
    result = pd.concat([orders, returned, twice], ignore_index=True)
    result = result.iloc[
        np.lexsort((result["bestelnummer"].to_numpy(), result["day"].to_numpy()))
    ].reset_index(drop=True)
    result["besteldatum"] = days[result["day"].to_numpy()]
    return result.loc[:, list(COLUMNS)]


def write_demo_csv(path: Path | str = DEFAULT_OUT, **kwargs: int | str) -> Path:
    """Generate the demo transactions and write them as a Dutch CSV export.

    The file is ``;``-separated UTF-8 with a header line and Unix (LF) line
    endings; ``besteldatum`` is written ``dd-mm-yyyy`` and ``bedrag`` with a
    decimal comma and no thousands separator (``1234,56``, ``-23,45``);
    guest checkouts have an empty ``klantnummer``.

    Parameters
    ----------
    path
        Output file; its folder is created when missing.
    **kwargs
        Passed to :func:`generate_transactions` (``n_customers``, ``start``,
        ``end``, ``seed``).

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> write_demo_csv("/tmp/demo.csv", n_customers=100)  # doctest: +SKIP
    PosixPath('/tmp/demo.csv')
    """
    frame = generate_transactions(**kwargs)  # type: ignore[arg-type]
    return write_dutch_csv(frame, path, dates=["besteldatum"])


def write_dutch_csv(frame: pd.DataFrame, path: Path | str, *, dates: Sequence[str]) -> Path:
    """Write an example export as a Dutch system does: ``;``, decimal commas, dd-mm-yyyy.

    Shared by the three example generators (webshop, donations, subscriptions).

    Parameters
    ----------
    frame
        The rows; ``dates`` columns hold timestamps (missing ones become empty cells).
    path
        The CSV file (its folder is created).
    dates
        Columns written as ``dd-mm-yyyy``.

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile
    >>> frame = pd.DataFrame({"datum": pd.to_datetime(["2024-06-30", None]), "bedrag": [1.5, 2]})
    >>> out = write_dutch_csv(frame, Path(tempfile.mkdtemp()) / "x.csv", dates=["datum"])
    >>> out.read_text().splitlines()
    ['datum;bedrag', '30-06-2024;1,50', ';2,00']
    """
    path = Path(path)
    frame = frame.copy()
    for column in dates:
        frame[column] = frame[column].dt.strftime("%d-%m-%Y").fillna("")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(
        path,
        sep=";",
        decimal=",",
        float_format="%.2f",
        index=False,
        encoding="utf-8",
        lineterminator="\n",
    )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m clvreport.demo [--out FILE] [--customers N] [--seed S]``.

    Parameters
    ----------
    argv
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        Exit status, 0 on success.
    """
    parser = argparse.ArgumentParser(
        prog="python -m clvreport.demo",
        description="Regenerate the synthetic Dutch webshop transactions of the demo client.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    parser.add_argument("--customers", type=int, default=5000, help="default: 5000")
    parser.add_argument("--start", default="2022-01-01", help="default: 2022-01-01")
    parser.add_argument("--end", default="2024-12-31", help="default: 2024-12-31")
    parser.add_argument("--seed", type=int, default=2024, help="default: 2024")
    args = parser.parse_args(argv)
    out = write_demo_csv(
        args.out, n_customers=args.customers, start=args.start, end=args.end, seed=args.seed
    )
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
