"""A seeded simulated transaction log in which a few customers placed one enormous order.

Shared by the tests of exceptional orders (ingest, spend model, report). The
customers are BG/NBD buyers with Gamma-Gamma order amounts
(:func:`clvreport.models.simulate.simulate_bgnbd_transactions`). Then:

* **whales**: customers with a repeat purchase in the calibration period; one
  of those orders is multiplied by 500 to 5000 (a data-entry slip, a one-off
  wholesale order). Their true spend per order stays what it was.
* **big spenders**: customers with at least three orders who consistently buy
  100 times as much as the others (every order, and their true spend).

``clean`` is the same log without the whale multiplication: what the
customers would look like if the enormous orders had been ordinary ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clvreport.models.simulate import simulate_bgnbd_transactions

TRANSACTIONS = {"r": 0.6, "alpha": 5.0, "a": 0.6, "b": 4.0}
SPEND = {"p": 6.0, "q": 4.0, "gamma": 15.0}
START = "2022-01-01"
DAYS = 730
CALIBRATION_END = pd.Timestamp("2023-06-30")
BIG_FACTOR = 100.0


@dataclass(frozen=True)
class WhaleLog:
    """The simulated log, its clean twin and who is who.

    Attributes
    ----------
    log, clean
        ``customer_id, order_date, amount`` with and without the enormous orders.
    whale_orders
        The enormous orders: ``customer_id, order_date, amount, factor``.
    big_spenders
        Ids of the customers who consistently buy big.
    truth
        ``customer_id, mean_spend``: every customer's true expected order amount.
    """

    log: pd.DataFrame
    clean: pd.DataFrame
    whale_orders: pd.DataFrame
    big_spenders: tuple[str, ...]
    truth: pd.DataFrame

    @property
    def whales(self) -> tuple[str, ...]:
        """Ids of the customers with an enormous order."""
        return tuple(self.whale_orders["customer_id"])

    def write(self, path: Path, *, clean: bool = False) -> Path:
        """The log (or its clean twin) as a CSV file ``klant,datum,bedrag``."""
        frame = self.clean if clean else self.log
        frame.rename(
            columns={"customer_id": "klant", "order_date": "datum", "amount": "bedrag"}
        ).to_csv(path, index=False, date_format="%Y-%m-%d")
        return path


def whale_log(
    seed: int = 7, customers: int = 4000, whales: int = 6, big_spenders: int = 5
) -> WhaleLog:
    """Simulate the log (see the module docstring); the same seed gives the same log."""
    log, truth = simulate_bgnbd_transactions(
        TRANSACTIONS, SPEND, customers, start=START, days=DAYS, seed=seed
    )
    rng = np.random.default_rng(seed + 100)
    first = log.groupby("customer_id")["order_date"].transform("min")
    repeat = log[(log["order_date"] > first) & (log["order_date"] <= CALIBRATION_END)]
    # one order per whale, on a day the customer bought only once (a single row)
    single = ~repeat.duplicated(["customer_id", "order_date"], keep=False)
    repeat = repeat[single]
    chosen = rng.choice(repeat["customer_id"].unique(), whales, replace=False)
    rows = [int(rng.choice(repeat.index[repeat["customer_id"] == c])) for c in chosen]
    factors = rng.uniform(500.0, 5000.0, len(rows))
    clean = log.copy()
    log.loc[rows, "amount"] = np.round(log.loc[rows, "amount"].to_numpy() * factors, 2)
    counts = log.groupby("customer_id").size()
    eligible = counts[(counts >= 3) & ~counts.index.isin(chosen)].index
    big = tuple(sorted(rng.choice(eligible, big_spenders, replace=False)))
    for frame in (log, clean):
        frame.loc[frame["customer_id"].isin(big), "amount"] *= BIG_FACTOR
        frame["amount"] = frame["amount"].round(2)
    truth.loc[truth["customer_id"].isin(big), "mean_spend"] *= BIG_FACTOR
    orders = log.loc[rows, ["customer_id", "order_date", "amount"]].assign(factor=factors)
    return WhaleLog(log, clean, orders.reset_index(drop=True), big, truth)
