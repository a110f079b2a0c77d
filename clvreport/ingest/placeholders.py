"""Refuse customer ids that are placeholders for "no customer" rather than one customer.

Shop exports write guests as customer ``0``, ``guest`` or an empty e-mail
address; counted as one customer, such an id becomes the best customer of
the report. :func:`check_customer_ids` refuses an id that holds an implausible
share of the orders, with one message naming the file, the column and the fix
(``data.policies.placeholder_customers``, ``columns.customer_fallback`` or, for
a real customer, ``data.policies.large_customers``).
"""

from __future__ import annotations

from collections.abc import Sequence

from clvreport.config import ColumnMapping, DataPolicies
from clvreport.engine import Engine
from clvreport.errors import DataError
from clvreport.ingest.reader import RawFile

__all__ = [
    "LARGE_SHARE",
    "MANY_CUSTOMERS",
    "PLACEHOLDER_IDS",
    "check_customer_ids",
]

PLACEHOLDER_IDS = frozenset(
    "0 -1 00 000 guest guests gast gasten anonymous anoniem unknown onbekend none nobody "
    "niemand test x xx xxx - ? n/a na leeg empty noemail no-email geen".split()
)
"""Ids that usually mean "no customer" (compared in lower case)."""

LARGE_SHARE = 0.05
"""An id with more than this share of the orders is refused when there are many customers."""

MANY_CUSTOMERS = 200
"""Customers from which one id with more than :data:`LARGE_SHARE` of the orders is implausible."""

_PLACEHOLDER_SHARE = 0.01  # a placeholder-like id: refused above 1% (and 3 fair shares)
_FAIR_SHARES = 3


def check_customer_ids(
    engine: Engine,
    staged: str,
    kept: str,
    raws: Sequence[RawFile],
    columns: ColumnMapping,
    policies: DataPolicies,
) -> None:
    """Refuse an id that holds an implausible share of the kept purchases.

    Refused are: an id of :data:`PLACEHOLDER_IDS` with more than 1% (and more
    than three times an average customer's share) of the purchase rows or of
    the revenue, and any id with more than :data:`LARGE_SHARE` of the purchase
    rows while there are :data:`MANY_CUSTOMERS` or more customers. Ids listed in
    ``policies.large_customers`` are accepted.

    Raises
    ------
    DataError
        Naming the id, its share, the file and column, and the fix.
    """
    purchases = f"{kept} AND amount >= 0"
    totals = engine.query(
        f"SELECT count(DISTINCT customer_id) AS customers, count(*) AS n, "
        f"sum(amount) AS revenue FROM {staged} WHERE {purchases}"
    ).iloc[0]
    customers, rows = int(totals["customers"]), int(totals["n"])
    revenue = float(totals["revenue"] or 0.0)
    if customers < 2 or rows == 0:
        return
    floor = max(_PLACEHOLDER_SHARE, _FAIR_SHARES / customers)
    tokens = ", ".join(engine.dialect.string(t) for t in sorted(PLACEHOLDER_IDS))
    accepted = ", ".join(engine.dialect.string(t.lower()) for t in policies.large_customers)
    allow = f"AND lower(customer_id) NOT IN ({accepted})" if accepted else ""
    large = f"n > {LARGE_SHARE * rows!r}" if customers >= MANY_CUSTOMERS else "FALSE"
    suspects = engine.query(
        f"SELECT customer_id, n, revenue FROM (SELECT customer_id, count(*) AS n, "
        f"sum(amount) AS revenue FROM {staged} WHERE {purchases} {allow} GROUP BY customer_id) "
        f"WHERE ({large}) OR (lower(customer_id) IN ({tokens}) AND (n > {floor * rows!r} "
        f"OR revenue > {floor * revenue!r})) ORDER BY n DESC, customer_id LIMIT 1"
    )
    if suspects.empty:
        return
    found = suspects.iloc[0]
    cid, n = str(found["customer_id"]), int(found["n"])
    share_rev = float(found["revenue"]) / revenue if revenue > 0 else 0.0
    where = engine.query(
        f"SELECT _file, count(*) AS n FROM {staged} WHERE {purchases} AND customer_id = "
        f"{engine.dialect.string(cid)} GROUP BY _file ORDER BY n DESC LIMIT 1"
    )
    raw = raws[int(where["_file"].iloc[0])]
    raise DataError(
        f"customer id '{cid}' in column '{columns.customer_id}' holds {n:,} of the {rows:,} "
        f"purchase rows ({n / rows:.0%}) and {share_rev:.0%} of the revenue among {customers:,} "
        "customers: it looks like a placeholder for guests or unknown customers, not one "
        "customer",
        path=raw.source.path,
        hint=f"map it to 'no customer' with data.policies.placeholder_customers: ['{cid}'] "
        "(its rows are left out and counted), or name a column that identifies those "
        "customers (e.g. the e-mail address) as data.columns.customer_fallback; if it is "
        f"one real customer, list it under data.policies.large_customers: ['{cid}']",
    )
