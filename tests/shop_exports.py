"""Shopify and WooCommerce order exports with known truth, generated for the tests.

The column names are those of the systems' own CSV exports: Shopify's orders
export (one row per line item; order-level fields only on an order's first
row) and a WooCommerce order export (Order ID, Order Status, Customer User ID,
Billing Email, Order Total Amount, ...; guests have Customer User ID 0). Each
generator returns the file and the truth the ingest must reproduce:
customers, purchases and revenue after excluding orders that are not
purchases and netting partial refunds.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHOPIFY_COLUMNS = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total",
    "Discount Code", "Discount Amount", "Shipping Method", "Created at",
    "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
    "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable",
    "Lineitem fulfillment status", "Billing Name", "Billing Street", "Billing City",
    "Billing Zip", "Billing Country", "Notes", "Cancelled at", "Payment Method",
    "Refunded Amount", "Vendor", "Outstanding Balance", "Id", "Tags", "Source",
]  # fmt: skip
"""Columns of Shopify's orders export (a subset, in Shopify's order)."""

ORDER_LEVEL = {
    "Email", "Financial Status", "Paid at", "Fulfillment Status", "Accepts Marketing",
    "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Amount",
    "Shipping Method", "Created at", "Billing Name", "Billing Country", "Refunded Amount",
    "Id", "Source", "Payment Method",
}  # fmt: skip
"""Shopify fields written on an order's first line row only."""

WOOCOMMERCE_COLUMNS = [
    "Order ID", "Order Number", "Order Status", "Order Date", "Customer User ID",
    "Billing First Name", "Billing Last Name", "Billing Email", "Billing Country",
    "Payment Method Title", "Order Shipping Amount", "Order Total Tax Amount",
    "Order Total Amount", "Order Currency", "Item Name", "Quantity", "Item Cost",
]  # fmt: skip
"""Columns of a WooCommerce order export (one row per line item)."""


@dataclass(frozen=True)
class Truth:
    """What the ingest must find: customers, purchases (orders kept) and net revenue."""

    customers: int
    purchases: int
    revenue: float
    statuses: dict[str, int]  # status value -> rows in the export


def _money(x: float) -> str:
    return f"{x:.2f}"


def _orders(rng: np.random.Generator, n_customers: int, start: dt.date, days: int):
    """Per customer: distinct order days (a purchase is one order on its own day)."""
    for c in range(n_customers):
        k = int(rng.integers(1, 6))
        offsets = sorted(rng.choice(days, size=k, replace=False).tolist())
        yield c, [start + dt.timedelta(days=int(o)) for o in offsets]


def _lines(rng: np.random.Generator) -> list[tuple[str, int, float]]:
    n = int(rng.integers(1, 4))
    prices = [9.95, 14.5, 24.0, 39.9]
    lines = [
        (f"Product {int(rng.integers(1, 40))}", int(rng.integers(1, 3)), float(rng.choice(prices)))
        for _ in range(n)
    ]
    if rng.random() < 0.2:  # two distinct items at the same price: not duplicates
        lines.append(("Gift card", lines[0][1], lines[0][2]))
    return lines


def shopify_export(path: Path, n_customers: int = 240, seed: int = 27) -> Truth:
    """Write a Shopify orders export to ``path`` and return its truth.

    Statuses: paid, partially_refunded (with Refunded Amount), refunded,
    voided and pending; e-mail addresses in varying case (one customer);
    currency GBP; line rows carry Name and the line fields only.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, str]] = []
    kept_customers: set[str] = set()
    purchases, revenue = 0, 0.0
    statuses: dict[str, int] = {}
    number = 1000
    for c, days in _orders(rng, n_customers, dt.date(2022, 1, 3), 700):
        email = f"klant{c}@voorbeeld.nl"
        for day in days:
            number += 1
            status = str(rng.choice(
                ["paid", "paid", "paid", "paid", "paid", "partially_refunded", "refunded",
                 "voided", "pending"]
            ))  # fmt: skip
            lines = _lines(rng)
            subtotal = sum(q * p for _, q, p in lines)
            shipping = 4.95 if subtotal < 50 else 0.0
            total = round(subtotal + shipping, 2)
            refunded = round(lines[0][2], 2) if status == "partially_refunded" else 0.0
            if status == "refunded":
                refunded = total
            written = email.upper() if number % 7 == 0 else email.capitalize()
            created = dt.datetime.combine(day, dt.time(int(rng.integers(8, 22)), 15, 30))
            for i, (name, qty, price) in enumerate(lines):
                row = dict.fromkeys(SHOPIFY_COLUMNS, "")
                row.update({
                    "Name": f"#{number}", "Lineitem quantity": str(qty), "Lineitem name": name,
                    "Lineitem price": _money(price), "Lineitem requires shipping": "true",
                    "Lineitem taxable": "true", "Lineitem fulfillment status": "fulfilled",
                    "Vendor": "Voorbeeld",
                })  # fmt: skip
                if i == 0:
                    row.update({
                        "Email": written, "Financial Status": status,
                        "Paid at": created.strftime("%Y-%m-%d %H:%M:%S +0100"),
                        "Fulfillment Status": "fulfilled", "Accepts Marketing": "no",
                        "Currency": "GBP", "Subtotal": _money(subtotal),
                        "Shipping": _money(shipping), "Taxes": _money(total * 0.21 / 1.21),
                        "Total": _money(total), "Discount Amount": "0.00",
                        "Shipping Method": "Standard",
                        "Created at": created.strftime("%Y-%m-%d %H:%M:%S +0100"),
                        "Billing Name": f"Klant {c}", "Billing Country": "NL",
                        "Refunded Amount": _money(refunded), "Id": str(5_000_000 + number),
                        "Source": "web", "Payment Method": "iDEAL", "Outstanding Balance": "0.00",
                    })  # fmt: skip
                rows.append(row)
                statuses[status] = statuses.get(status, 0) + 1
            if status in ("paid", "partially_refunded"):
                kept_customers.add(email)
                purchases += 1
                revenue += total - refunded
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=SHOPIFY_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return Truth(len(kept_customers), purchases, round(revenue, 2), statuses)


def woocommerce_export(
    path: Path, n_customers: int = 220, n_guests: int = 120, seed: int = 72, n_shared: int = 0
) -> Truth:
    """Write a WooCommerce order export to ``path`` and return its truth.

    Registered customers have a Customer User ID; guests have ``0`` and are
    told apart by their Billing Email (written in varying case). The first
    ``n_shared`` guests use the e-mail address of a registered customer (in
    upper case): they are that customer. Statuses: Completed, Processing,
    Refunded, Failed, Pending payment, On hold, Cancelled. One row per line
    item, order fields repeated on every row.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, str]] = []
    kept_customers: set[str] = set()
    purchases, revenue = 0, 0.0
    statuses: dict[str, int] = {}
    number = 100
    for c, days in _orders(rng, n_customers + n_guests, dt.date(2022, 2, 1), 700):
        guest = c >= n_customers
        user_id = "0" if guest else str(10 + c)
        email = f"gast{c}@example.com" if guest else f"user{c}@example.com"
        key = email if guest else user_id
        if guest and c - n_customers < n_shared:  # a guest who also has an account
            account = c - n_customers
            email, key = f"USER{account}@example.com", str(10 + account)
        for day in days:
            number += 1
            status = str(rng.choice(
                ["Completed", "Completed", "Completed", "Completed", "Processing", "Refunded",
                 "Failed", "Pending payment", "On hold", "Cancelled"]
            ))  # fmt: skip
            lines = _lines(rng)
            shipping = 5.0
            total = round(sum(q * p for _, q, p in lines) + shipping, 2)
            written = email.title() if number % 5 == 0 else email
            for name, qty, price in lines:
                rows.append({
                    "Order ID": str(number + 9000), "Order Number": str(number),
                    "Order Status": status,
                    "Order Date": f"{day.isoformat()} {int(rng.integers(8, 22)):02d}:05",
                    "Customer User ID": user_id, "Billing First Name": f"Voornaam{c}",
                    "Billing Last Name": f"Achternaam{c}", "Billing Email": written,
                    "Billing Country": "NL", "Payment Method Title": "iDEAL",
                    "Order Shipping Amount": _money(shipping),
                    "Order Total Tax Amount": _money(total * 0.21 / 1.21),
                    "Order Total Amount": _money(total), "Order Currency": "EUR",
                    "Item Name": name, "Quantity": str(qty), "Item Cost": _money(price),
                })  # fmt: skip
                statuses[status] = statuses.get(status, 0) + 1
            if status in ("Completed", "Processing"):
                kept_customers.add(key)
                purchases += 1
                revenue += total
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=WOOCOMMERCE_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return Truth(len(kept_customers), purchases, round(revenue, 2), statuses)
