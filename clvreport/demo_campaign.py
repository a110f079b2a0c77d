"""The demo's earlier actions: the lists of its 30 June 2024 report, who was reached, what came.

The demo client shows the whole loop of :mod:`clvreport.experiments`: render
a report as of 30 June 2024 (its lists hold back control groups), then the
report of 31 December 2024 measures what each action did. For that the demo
carries two more files, written by this module from the first report's own
lists (so they match its control groups exactly):

``contacten.csv``
    The contacts export of an e-mail platform and call centre: the treated
    customers of each advised action, contacted in the week after the report
    (92% reached; the rest bounced), plus two control customers contacted by
    mistake.
``campagne.csv``
    The orders the actions brought, in the same layout as ``transactions.csv``:
    a known true effect per reached customer (:data:`EFFECTS`: expected extra
    orders between July and December at the customer's usual order value).
    "Belonen en bedanken" works, "Volgende aankoop" (the voucher) does not.

Regenerate with ``python -m clvreport.demo_campaign`` (needs the demo's
``transactions.csv``; it runs the 30 June analysis, about 20 seconds).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from clvreport.demo import COLUMNS, write_dutch_csv
from clvreport.experiments import TREATED

__all__ = ["AS_OF", "EFFECTS", "campaign", "main", "write_campaign"]

AS_OF = dt.date(2024, 6, 30)
"""The date of the demo's earlier report, whose lists the campaign carried out."""
EFFECTS: dict[str, float] = {
    "reward": 1.5,
    "welcome": 0.3,
    "win_back_personal": 0.8,
    "personal_attention": 0.5,
    "second_purchase": 0.0,
    "reminder": 0.0,
}
"""True effect per reached customer: expected extra orders from July to December."""
REACHED = 0.92
"""Share of the treated customers the contacts export says were reached."""
CAMPAIGN_FILE = "campagne.csv"
CONTACTS_FILE = "contacten.csv"


def campaign(
    client_dir: Path | str, data_dir: Path | str, *, seed: int = 2024
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The extra orders and the contacts export of the demo's 30 June 2024 lists.

    Parameters
    ----------
    client_dir
        The demo client folder (``data/demo``).
    data_dir
        Its parent (``data``).
    seed
        Seed of who was reached and what they bought.

    Returns
    -------
    tuple of pandas.DataFrame
        The orders (the columns of ``transactions.csv``) and the contacts
        (``klantnummer, datum, actie``).
    """
    from clvreport.report.context import setup

    ctx = setup(client=Path(client_dir).name, data_dir=data_dir, as_of=AS_OF)
    per_customer = ctx.customer_actions
    customers = ctx.analysis.customers.loc[per_customer.index]
    rng = np.random.default_rng(seed)
    listed = per_customer["group"].notna().to_numpy() if "group" in per_customer else []
    lists = per_customer[listed]
    treated = lists[(lists["group"] == TREATED).to_numpy()]
    reached = rng.random(len(treated)) < REACHED
    contact_day = pd.Timestamp(AS_OF) + pd.to_timedelta(rng.integers(8, 13, len(treated)), "D")
    contacts = pd.DataFrame(
        {
            "klantnummer": treated["customer_id"].astype(str).to_numpy()[reached],
            "datum": contact_day[reached],
            "actie": treated["action"].astype(str).to_numpy()[reached],
        }
    )
    control = lists[(lists["group"] != TREATED).to_numpy()]
    mistakes = control.sample(n=min(2, len(control)), random_state=seed)
    contacts = pd.concat(
        [
            contacts,
            pd.DataFrame(
                {
                    "klantnummer": mistakes["customer_id"].astype(str).to_numpy(),
                    "datum": pd.Timestamp(AS_OF) + pd.Timedelta(days=9),
                    "actie": mistakes["action"].astype(str).to_numpy(),
                }
            ),
        ],
        ignore_index=True,
    ).sort_values(["datum", "klantnummer"], ignore_index=True)
    # the orders the actions brought: the effect of each reached customer's action
    effect = treated["action"].astype(str).map(EFFECTS).fillna(0.0).to_numpy()
    extra = rng.poisson(effect * reached)
    owner = np.repeat(np.arange(len(treated)), extra)
    base = customers.loc[treated.index]
    usual = (base["revenue"] / base["n_purchases"].clip(lower=1)).clip(lower=5.0).to_numpy()
    days = (dt.date(2024, 12, 31) - AS_OF).days
    when = pd.Timestamp(AS_OF) + pd.to_timedelta(rng.integers(14, days + 1, owner.size), "D")
    orders = pd.DataFrame(
        {
            "bestelnummer": [f"A{i + 1:05d}" for i in range(owner.size)],
            "klantnummer": pd.array(
                treated["customer_id"].astype(str).to_numpy()[owner].astype(np.int64),
                dtype="Int64",
            ),
            "besteldatum": when,
            "bedrag": np.round(usual[owner] * rng.gamma(8.0, 1 / 8.0, owner.size), 2),
            "kanaal": "webshop",
            "land": "NL",
            "status": "afgerond",
        },
        columns=list(COLUMNS),
    ).sort_values(["besteldatum", "bestelnummer"], ignore_index=True)
    return orders, contacts


def write_campaign(client_dir: Path | str = "data/demo", *, seed: int = 2024) -> list[Path]:
    """Write ``campagne.csv`` and ``contacten.csv`` into the demo client folder.

    The 30 June analysis does not read the campaign's orders (they are later),
    so the lists are the same with or without them; the file is emptied first
    so that the client's sources resolve.

    Returns
    -------
    list of Path
        The two files.
    """
    client_dir = Path(client_dir)
    orders_path = client_dir / CAMPAIGN_FILE
    contacts_path = client_dir / CONTACTS_FILE
    empty = pd.DataFrame(columns=list(COLUMNS)).astype({"besteldatum": "datetime64[ns]"})
    write_dutch_csv(empty, orders_path, dates=["besteldatum"])
    orders, contacts = campaign(client_dir, client_dir.parent, seed=seed)
    write_dutch_csv(orders, orders_path, dates=["besteldatum"])
    write_dutch_csv(contacts, contacts_path, dates=["datum"])
    return [orders_path, contacts_path]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m clvreport.demo_campaign [--client-dir DIR] [--seed S]``."""
    parser = argparse.ArgumentParser(
        prog="python -m clvreport.demo_campaign",
        description="Write the demo's campaign orders and contacts export (campagne.csv, "
        "contacten.csv) from its 30 June 2024 lists.",
    )
    parser.add_argument("--client-dir", type=Path, default=Path("data/demo"))
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    for path in write_campaign(args.client_dir, seed=args.seed):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
