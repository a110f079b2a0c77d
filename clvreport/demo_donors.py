"""Synthetic donations to a Dutch charity, the ``goededoel`` example client.

:func:`generate_donations` draws a seeded, realistic gift export of a
fictitious Dutch charity, Stichting Zonnestraal; :func:`write_donations_csv`
writes it the way a Dutch donor administration exports it (``;``-separated
UTF-8, Dutch column names, dates as ``dd-mm-yyyy``, amounts with a decimal
comma). Regenerate the committed file with::

    python -m clvreport.demo_donors --out data/goededoel/donaties.csv

The same seed always gives a byte-identical file.

How the data is shaped
----------------------
Donors have one giving opportunity per calendar year, and their giving
follows the beta-geometric/beta-Bernoulli (BG/BB) model (Fader, Hardie &
Shang, 2010) with the parameters of :data:`BGBB_PARAMS`:

* each donor has a chance ``p ~ Beta(alpha, beta)`` to give in a year while
  they are still a donor, and a chance ``theta ~ Beta(gamma, delta)`` to lapse
  for good before each year (then they never give again);
* the **first gift** is in the acquisition year, period 0 of the BG/BB model
  and not an opportunity; every later calendar year up to the report date
  (31 December of the last year) is one opportunity. The share of a cohort
  giving in year ``k`` after acquisition is therefore
  ``E[p] * E[(1 - theta)^k]``;
* in a year a donor gives, they give **once or twice** (a second gift in about
  a fifth of those years); both rows are kept, the year counts once;
* **cohorts** of new donors differ in size (:data:`COHORT_WEIGHTS`: a big
  campaign in 2020, a quiet 2022), about 600 to 1,400 donors a year.

Around that core the export looks like a charity's:

* **gift amounts** follow a gamma-gamma-like heterogeneity (Fader, Hardie &
  Lee, 2005): every donor has a typical gift (median around € 40, about a
  hundred donors give € 250 or more), single gifts vary around it and are
  rounded the way people give (whole euros, multiples of € 5);
* **channels** (``kanaal``): ``machtiging`` (a yearly direct debit of a fixed
  amount on the same date every year), ``ideal`` (online), ``acceptgiro``
  (paper giro slips, which Dutch banks stopped processing on 1 June 2019:
  those donors switch to ``ideal``) and ``collecte`` (the door-to-door
  collection week in early June, small amounts);
* **gift dates** peak in December (the year-end appeal) and in the spring
  campaign (mid-March to April), with a summer dip;
* **campaigns** (``campagne``): ``eindejaarsactie-<year>``,
  ``voorjaarsactie-<year>``, ``collecte-<year>``, ``machtiging`` for the
  direct debits and ``algemeen`` for the rest.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S., & Shang, J. (2010). Customer-base
   analysis in a discrete-time noncontractual setting. Marketing Science,
   29(6), 1086-1108.
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

from clvreport.demo import write_dutch_csv

__all__ = [
    "BGBB_PARAMS",
    "COHORT_WEIGHTS",
    "COLUMNS",
    "DEFAULT_OUT",
    "generate_donations",
    "main",
    "write_donations_csv",
]

#: Column names of the export, in order.
COLUMNS: tuple[str, ...] = ("donateurnummer", "datum", "bedrag", "kanaal", "campagne")

#: Where the example file lives, relative to the repository root.
DEFAULT_OUT = Path("data/goededoel/donaties.csv")

#: BG/BB parameters of the yearly giving: ``p ~ Beta(alpha, beta)`` is the chance to
#: give in a year while alive, ``theta ~ Beta(gamma, delta)`` the chance to lapse
#: before each year.
BGBB_PARAMS: dict[str, float] = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}

#: Relative sizes of the yearly cohorts of new donors, from the first year on
#: (repeated when there are more years): with 8,000 donors over 2017-2024,
#: 1,150, 950, 800, 1,400, 1,050, 700, 850 and 1,100 new donors.
COHORT_WEIGHTS: tuple[float, ...] = (1.15, 0.95, 0.80, 1.40, 1.05, 0.70, 0.85, 1.10)

CHANNELS = np.array(["machtiging", "ideal", "acceptgiro", "collecte"])
MACHTIGING, IDEAL, ACCEPTGIRO, COLLECTE = range(4)
#: Dutch banks processed the last paper giro slips (acceptgiro's) on 31 May 2019.
ACCEPTGIRO_END = pd.Timestamp("2019-06-01")

# Month multipliers of the chance that a gift falls on a day (January ... December):
# the spring campaign in March and April, a summer dip, the year-end appeal.
MONTH_FACTOR = np.array([0.80, 0.75, 1.20, 1.50, 0.90, 0.85, 0.60, 0.60, 0.85, 0.90, 1.10, 3.20])


@dataclass(frozen=True)
class _Shape:
    """Behavioural parameters of the synthetic charity (money in €)."""

    # Gamma-gamma-like amounts: a gift ~ Gamma(p, rate nu), nu ~ Gamma(q, rate g):
    # the donor's typical gift p / nu has a median of about p * g / (q - 1/3) = € 40.
    p: float = 5.0
    q: float = 3.0
    g: float = 24.0
    second_gift_share: float = 0.20
    # Acquisition channel shares (machtiging, ideal, acceptgiro, collecte) in the
    # first and the last year; the years between are interpolated.
    channel_first: tuple[float, float, float, float] = (0.38, 0.24, 0.30, 0.08)
    channel_last: tuple[float, float, float, float] = (0.42, 0.50, 0.00, 0.08)
    # Share of a donor's gifts through their own channel (the rest: iDEAL).
    own_channel_share: float = 0.85
    collecte_factor: float = 0.35
    collecte_days: tuple[int, int] = (2, 8)  # the collection week, 2-8 June


def _day_weights(days: pd.DatetimeIndex) -> np.ndarray:
    """Relative chance that a gift falls on each day (month factor, campaign weeks).

    Parameters
    ----------
    days
        Consecutive calendar days.

    Returns
    -------
    numpy.ndarray
        One positive weight per day.
    """
    weight = MONTH_FACTOR[days.month - 1].copy()
    # The year-end appeal peaks in the last two weeks of December.
    weight[(days.month == 12) & (days.day >= 15)] *= 1.6
    # The spring campaign runs from mid-March to the end of April.
    spring = ((days.month == 3) & (days.day >= 15)) | (days.month == 4)
    weight[spring] *= 1.4
    return weight


def _campaign(dates: pd.DatetimeIndex, channel: np.ndarray) -> np.ndarray:
    """Campaign code of each gift, from its date and channel.

    Parameters
    ----------
    dates
        Gift dates.
    channel
        Channel index of each gift (see :data:`CHANNELS`).

    Returns
    -------
    numpy.ndarray
        Campaign codes (object array).
    """
    year = dates.year.astype(str).to_numpy()
    campaign = np.full(dates.size, "algemeen", dtype=object)
    month, day = dates.month.to_numpy(), dates.day.to_numpy()
    spring = ((month == 3) & (day >= 15)) | (month == 4)
    year_end = (month == 12) | ((month == 11) & (day >= 25))
    campaign[spring] = "voorjaarsactie-" + year[spring]
    campaign[year_end] = "eindejaarsactie-" + year[year_end]
    collecte = channel == COLLECTE
    campaign[collecte] = "collecte-" + year[collecte]
    debit = channel == MACHTIGING
    campaign[debit] = "machtiging"
    return campaign


def _round_gift(amount: np.ndarray) -> np.ndarray:
    """Round gifts the way people give: whole euros below € 20, else multiples of € 5.

    Parameters
    ----------
    amount
        Unrounded gifts in €.

    Returns
    -------
    numpy.ndarray
        Rounded gifts, at least € 5.
    """
    rounded = np.where(amount < 20, np.round(amount), 5 * np.round(amount / 5))
    return np.maximum(rounded, 5.0)


def generate_donations(
    n_donors: int = 8000,
    first_year: int = 2017,
    last_year: int = 2024,
    seed: int = 2024,
) -> pd.DataFrame:
    """Generate the gift export of a synthetic Dutch charity.

    Parameters
    ----------
    n_donors
        Number of donors, spread over the acquisition years by
        :data:`COHORT_WEIGHTS`; every donor has at least one gift.
    first_year, last_year
        First and last calendar year of the export (inclusive). Donors are
        acquired in every year; the report date is 31 December of ``last_year``.
    seed
        Seed of the random generator; the same arguments give the same data.

    Returns
    -------
    pandas.DataFrame
        One row per gift, sorted by date and donor number, with columns
        ``donateurnummer`` (int, handed out in order of the first gift),
        ``datum`` (``datetime64``), ``bedrag`` (float €, positive), ``kanaal``
        (``machtiging``, ``ideal``, ``acceptgiro`` or ``collecte``) and
        ``campagne``.

    Raises
    ------
    ValueError
        If ``n_donors`` is smaller than the number of years, or ``last_year``
        is before ``first_year``.

    Notes
    -----
    Yearly giving follows the BG/BB model [1]_ with :data:`BGBB_PARAMS`; the
    first gift is in the acquisition year (period 0), each later year is one
    opportunity. Amounts follow a gamma-gamma-like heterogeneity [2]_. See the
    module documentation for the full shape.

    References
    ----------
    .. [1] Fader, Hardie & Shang (2010), Marketing Science 29(6).
    .. [2] Fader, Hardie & Lee (2005), Journal of Marketing Research 42(4).

    Examples
    --------
    >>> df = generate_donations(n_donors=300, first_year=2022, seed=1)
    >>> df["donateurnummer"].nunique()
    300
    >>> int(df["datum"].dt.year.min()), int(df["datum"].dt.year.max())
    (2022, 2024)
    >>> bool((df["bedrag"] > 0).all())
    True
    """
    if last_year < first_year:
        raise ValueError(f"last_year ({last_year}) is before first_year ({first_year})")
    n_years = last_year - first_year + 1
    if n_donors < n_years:
        raise ValueError(
            f"n_donors must be at least the number of years ({n_years}), got {n_donors}"
        )
    shape = _Shape()
    rng = np.random.default_rng(seed)
    days = pd.date_range(f"{first_year}-01-01", f"{last_year}-12-31", freq="D")
    weight = _day_weights(days)
    day_year = days.year.to_numpy() - first_year
    year_start = np.searchsorted(day_year, np.arange(n_years))
    year_days = np.diff(np.append(year_start, days.size))

    def draw_days(year: np.ndarray) -> np.ndarray:
        """A seasonal day index within each given year (index into ``days``)."""
        out = np.empty(year.size, dtype=np.int64)
        for y in np.unique(year):
            rows = np.flatnonzero(year == y)
            w = weight[year_start[y] : year_start[y] + year_days[y]]
            out[rows] = year_start[y] + rng.choice(w.size, size=rows.size, p=w / w.sum())
        return out

    # Cohort sizes: the weights scaled to n_donors, rounded by largest remainder.
    cohort_weight = np.resize(np.array(COHORT_WEIGHTS), n_years)
    exact = n_donors * cohort_weight / cohort_weight.sum()
    sizes = np.floor(exact).astype(np.int64)
    sizes[np.argsort(sizes - exact)[: n_donors - sizes.sum()]] += 1
    acquired = np.repeat(np.arange(n_years), sizes)  # acquisition year per donor

    # BG/BB: chance to give while alive, chance to lapse before each year.
    params = BGBB_PARAMS
    p = rng.beta(params["alpha"], params["beta"], n_donors)
    theta = np.clip(rng.beta(params["gamma"], params["delta"], n_donors), 1e-12, 1.0)
    lapse = rng.geometric(theta)  # alive in year k after acquisition while k < lapse
    k = np.arange(1, n_years)
    opportunity = k[None, :] <= (n_years - 1 - acquired)[:, None]
    alive = k[None, :] < lapse[:, None]
    gives = opportunity & alive & (rng.random((n_donors, n_years - 1)) < p[:, None])
    donor_giving, k_giving = np.nonzero(gives)
    # One row per (donor, giving year): the acquisition year always, then the BG/BB years.
    donor = np.concatenate([np.arange(n_donors), donor_giving])
    year = np.concatenate([acquired, acquired[donor_giving] + k_giving + 1])

    # Channel: chosen at acquisition, with the shares drifting from paper to online.
    share = np.linspace(0, 1, n_years)[:, None]
    share = (1 - share) * np.array(shape.channel_first) + share * np.array(shape.channel_last)
    cumulative = np.cumsum(share[acquired], axis=1)
    own = (rng.random(n_donors)[:, None] > cumulative).sum(axis=1).clip(max=3)

    # The first gift of each donor-year; a machtiging debits on the same date every year.
    day = draw_days(year)
    first = np.arange(n_donors)
    debit = own[donor] == MACHTIGING
    anniversary = days[day[first]]
    debit_month = anniversary.month.to_numpy()[donor]
    debit_day = np.minimum(anniversary.day.to_numpy(), 28)[donor]
    debit_date = pd.to_datetime({"year": year + first_year, "month": debit_month, "day": debit_day})
    day[debit] = (debit_date[debit] - days[0]).dt.days.to_numpy()
    collecte = own[donor] == COLLECTE
    lo, hi = shape.collecte_days
    collecte_day = pd.to_datetime(
        {
            "year": year[collecte] + first_year,
            "month": 6,
            "day": rng.integers(lo, hi + 1, int(collecte.sum())),
        }
    )
    day[collecte] = (collecte_day - days[0]).dt.days.to_numpy()
    channel = own[donor].copy()
    # A donor's later gifts go through their own channel most of the time, else iDEAL.
    later = np.arange(donor.size) >= n_donors
    switch = later & ~debit & (rng.random(donor.size) > shape.own_channel_share)
    channel[switch] = IDEAL
    day[switch & collecte] = draw_days(year[switch & collecte])

    # A second, online gift in about a fifth of the giving years, on another day of
    # that year (in the acquisition year after the first gift).
    second = np.flatnonzero(rng.random(donor.size) < shape.second_gift_share)
    extra_day = draw_days(year[second])
    keep = np.where(later[second], extra_day != day[second], extra_day > day[second])
    donor = np.concatenate([donor, donor[second[keep]]])
    day = np.concatenate([day, extra_day[keep]])
    channel = np.concatenate([channel, np.full(int(keep.sum()), IDEAL)])

    # Amounts: a typical gift per donor; machtigingen debit that amount every year.
    nu = rng.gamma(shape.q, 1 / shape.g, n_donors)
    typical = shape.p / nu
    amount = rng.gamma(shape.p, 1 / nu[donor])
    amount[channel == MACHTIGING] = typical[donor[channel == MACHTIGING]]
    amount = _round_gift(amount)
    small = channel == COLLECTE
    amount[small] = np.maximum(np.round(amount[small] * shape.collecte_factor), 2.0)

    # Paper giro slips stopped on 1 June 2019: those gifts are made online.
    dates = days[day]
    channel[(channel == ACCEPTGIRO) & (dates >= ACCEPTGIRO_END)] = IDEAL

    # Donor numbers in order of the first gift, as the administration hands them out.
    rank = np.empty(n_donors, dtype=np.int64)
    rank[np.lexsort((rng.random(n_donors), day[first]))] = np.arange(n_donors)
    gifts = pd.DataFrame(
        {
            "donateurnummer": 100_001 + rank[donor],
            "datum": dates,
            "bedrag": amount,
            "kanaal": CHANNELS[channel],
            "campagne": _campaign(dates, channel),
        }
    )
    order = np.lexsort((gifts["donateurnummer"].to_numpy(), day))
    return gifts.iloc[order].reset_index(drop=True).loc[:, list(COLUMNS)]


def write_donations_csv(path: Path | str = DEFAULT_OUT, **kwargs: int) -> Path:
    """Generate the donations and write them as a Dutch CSV export.

    The file is ``;``-separated UTF-8 with a header line and Unix (LF) line
    endings; ``datum`` is written ``dd-mm-yyyy`` and ``bedrag`` with a decimal
    comma and no thousands separator (``25,00``, ``1250,00``).

    Parameters
    ----------
    path
        Output file; its folder is created when missing.
    **kwargs
        Passed to :func:`generate_donations` (``n_donors``, ``first_year``,
        ``last_year``, ``seed``).

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> write_donations_csv("/tmp/donaties.csv", n_donors=100)  # doctest: +SKIP
    PosixPath('/tmp/donaties.csv')
    """
    return write_dutch_csv(generate_donations(**kwargs), path, dates=["datum"])


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m clvreport.demo_donors [--out FILE] [--donors N] [--seed S]``.

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
    >>> main(["--out", "/tmp/donaties.csv"])  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(
        prog="python -m clvreport.demo_donors",
        description="Regenerate the synthetic donations of the goededoel example client.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    parser.add_argument("--donors", type=int, default=8000, help="default: 8000")
    parser.add_argument("--first-year", type=int, default=2017, help="default: 2017")
    parser.add_argument("--last-year", type=int, default=2024, help="default: 2024")
    parser.add_argument("--seed", type=int, default=2024, help="default: 2024")
    args = parser.parse_args(argv)
    out = write_donations_csv(
        args.out,
        n_donors=args.donors,
        first_year=args.first_year,
        last_year=args.last_year,
        seed=args.seed,
    )
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
