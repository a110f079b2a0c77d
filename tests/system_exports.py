"""Bookkeeping, donor, Magento and Lightspeed exports with known truth, generated for the tests.

The column names are those of the systems' exports as far as their
documentation names them (``clvreport/ingest/presets.yml`` says which are
assumed): Exact Online, Moneybird and e-Boekhouden invoice lists (cp1252 or
UTF-8, ``;``, decimal commas with thousands dots, day-first dates, statuses,
credit notes written negative or as a document type), a Dutch charity's gift
export (legacies, periodic gifts, reversed direct debits), Magento 2's order
grid (statuses, Total Refunded) and a Lightspeed eCom orders export. Each
generator writes the file and returns the :class:`~shop_exports.Truth` the
ingest must reproduce.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from shop_exports import Truth

__all__ = [
    "INVOICE_SYSTEMS",
    "DonorTruth",
    "donor_export",
    "invoice_export",
    "lightspeed_export",
    "magento_export",
]


def _comma(x: float) -> str:
    """A Dutch amount: decimal comma, thousands dots (``-1.234,50``)."""
    text = f"{abs(x):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"-{text}" if x < 0 else text


def _days(rng: np.random.Generator, start: dt.date, span: int, k: int) -> list[dt.date]:
    offsets = sorted(rng.choice(span, size=k, replace=False).tolist())
    return [start + dt.timedelta(days=int(o)) for o in offsets]


@dataclass(frozen=True)
class InvoiceLayout:
    """One bookkeeping system's invoice export: its column names and how it writes."""

    number: str
    date: str
    customer: str
    excl: str
    vat: str
    incl: str
    status: str | None
    kind: str | None  # document type column: credit notes written positive
    currency: str | None
    others: tuple[str, ...]  # further columns, written with a fixed value
    credited: str | None  # the invoice a credit note credits (its number)
    statuses_kept: tuple[str, ...]
    statuses_not: tuple[str, ...]
    encoding: str
    date_format: str


INVOICE_SYSTEMS: dict[str, InvoiceLayout] = {
    "exact_online": InvoiceLayout(
        number="Factuurnummer", date="Factuurdatum", customer="Relatiecode",
        excl="Bedrag excl. btw", vat="Btw-bedrag", incl="Bedrag incl. btw", status="Status",
        kind="Type", currency="Valuta", others=("Relatie", "Omschrijving", "Vervaldatum"),
        credited="Gecrediteerde factuur",
        statuses_kept=("Open", "Verwerkt", "Verwerkt"), statuses_not=("Concept",),
        encoding="cp1252", date_format="%d-%m-%Y",
    ),
    "moneybird": InvoiceLayout(
        number="Factuurnummer", date="Factuurdatum", customer="Klantnummer",
        excl="Totaal excl. btw", vat="Btw", incl="Totaal incl. btw", status="Status",
        kind=None, currency="Valuta", others=("Contact", "Referentie", "Vervaldatum"),
        credited="Originele factuur",
        statuses_kept=("Betaald", "Betaald", "Open", "Te laat", "Herinnerd"),
        statuses_not=("Concept", "Gepland", "Oninbaar"),
        encoding="utf-8", date_format="%d-%m-%Y",
    ),
    "eboekhouden": InvoiceLayout(
        number="Factuurnummer", date="Datum", customer="Relatiecode",
        excl="Totaal excl. BTW", vat="Totaal BTW", incl="Totaal incl. BTW", status=None,
        kind=None, currency=None, others=("Betalingstermijn", "Omschrijving"), credited=None,
        statuses_kept=("",), statuses_not=(), encoding="cp1252", date_format="%d-%m-%Y",
    ),
}  # fmt: skip
"""The invoice exports generated: Exact Online writes credit notes positive with Type
'Creditnota', Moneybird and e-Boekhouden as negative invoices."""


def invoice_export(path: Path, system: str, n_customers: int = 160, seed: int = 31) -> Truth:
    """Write an invoice export of ``system`` (a key of :data:`INVOICE_SYSTEMS`) and its truth.

    Revenue is the amount excl. btw. A credit note credits 20% to 100% of one
    kept invoice of the customer, later, and names it (Exact Online: Gecrediteerde
    factuur, Moneybird: Originele factuur); it nets against the customer's
    revenue and is no purchase. A customer whose invoices are all credited
    (net 0) bought nothing and is no customer; invoices of a status that is
    not a sale are no purchases. Relation names hold cp1252 accents.
    """
    layout = INVOICE_SYSTEMS[system]
    rng = np.random.default_rng(seed)
    columns = [
        layout.number, layout.date, layout.customer, *layout.others,
        *((layout.credited,) if layout.credited else ()),
        *((layout.kind,) if layout.kind else ()), *((layout.status,) if layout.status else ()),
        *((layout.currency,) if layout.currency else ()), layout.excl, layout.vat, layout.incl,
    ]  # fmt: skip
    rows: list[dict[str, str]] = []
    statuses: dict[str, int] = {}
    net: dict[str, float] = {}
    invoices: dict[str, int] = {}
    number = 2023000

    def write(
        code: str, day: dt.date, excl: float, status: str, credited: int | None = None
    ) -> int:
        nonlocal number
        number += 1
        credit = credited is not None
        signed = -excl if credit and layout.kind is None else excl
        row = dict.fromkeys(columns, "")
        row.update({
            layout.number: str(number), layout.date: day.strftime(layout.date_format),
            layout.customer: code, layout.excl: _comma(signed),
            layout.vat: _comma(round(signed * 0.21, 2)),
            layout.incl: _comma(round(signed * 1.21, 2)),
        })  # fmt: skip
        texts = {"Relatie": "Café Zoë & Ré", "Contact": "Café Zoë & Ré", "Vervaldatum": ""}
        for other in layout.others:
            row[other] = texts.get(other, "Coördinatie")
        if layout.kind:
            row[layout.kind] = "Creditnota" if credit else "Verkoopfactuur"
        if layout.status:
            row[layout.status] = status
            statuses[status] = statuses.get(status, 0) + 1
        if layout.currency:
            row[layout.currency] = "EUR"
        if layout.credited and credit:
            row[layout.credited] = str(credited)
        rows.append(row)
        return number

    for c in range(n_customers):
        code = f"{10000 + c}"
        days = _days(rng, dt.date(2022, 1, 3), 700, int(rng.integers(1, 6)))
        kept: list[tuple[dt.date, float, int]] = []
        for day in days:
            base = float(rng.choice([85.0, 240.5, 1250.0, 3480.75]))
            excl = round(base * rng.uniform(0.8, 1.2), 2)
            status = str(rng.choice([*layout.statuses_kept, *layout.statuses_not]))
            invoice = write(code, day, excl, status)
            if status in layout.statuses_kept:
                kept.append((day, excl, invoice))
                net[code] = net.get(code, 0.0) + excl
                invoices[code] = invoices.get(code, 0) + 1
        if kept and rng.random() < 0.35:
            day, excl, invoice = kept[int(rng.integers(len(kept)))]
            share = 1.0 if rng.random() < 0.4 else float(rng.choice([0.2, 0.5]))
            credited = round(excl * share, 2)
            status = layout.statuses_kept[0]
            later = day + dt.timedelta(days=int(rng.integers(3, 30)))
            write(code, later, credited, status, credited=invoice)
            net[code] -= credited
    rng.shuffle(rows)  # type: ignore[arg-type]
    with path.open("w", newline="", encoding=layout.encoding) as f:
        writer = csv.DictWriter(f, fieldnames=columns, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    customers = {c for c in invoices if net[c] > 0.005}  # all credited: bought nothing
    return Truth(
        customers=len(customers),
        purchases=sum(invoices[c] for c in customers),
        revenue=round(sum(net[c] for c in customers), 2),
        statuses=statuses,
    )


DONOR_COLUMNS = [
    "Relatienummer", "Aanhef", "Naam", "Datum gift", "Bedrag", "Soort gift", "Kanaal",
    "Campagne", "Betaalwijze", "Status",
]  # fmt: skip
"""Columns of the charity's gift export (assumed names, see presets.yml: donor_crm)."""


@dataclass(frozen=True)
class DonorTruth(Truth):
    """The truth of a gift export, and its legacies reported apart."""

    one_off_rows: int = 0
    one_off_amount: float = 0.0


def donor_export(path: Path, n_donors: int = 260, seed: int = 8) -> DonorTruth:
    """Write a charity's gift export (cp1252, ``;``, decimal commas) and its truth.

    Gifts: Eenmalige gift, Machtiging (direct debit) and Periodieke schenking
    (a yearly gift by contract: a habit, kept) at most once a year per donor;
    reversed direct debits (Status 'Gestorneerd') are no gifts; a few donors'
    estates leave a legacy (Soort gift 'Nalatenschap', € 5.000–€ 40.000),
    reported apart and left out of every donor's revenue.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, str]] = []
    statuses: dict[str, int] = {}
    revenue: dict[str, float] = {}
    gifts: dict[str, int] = {}
    legacies, legacy_amount = 0, 0.0
    for d in range(n_donors):
        number = f"{300000 + d}"
        kind = str(rng.choice(["Eenmalige gift", "Machtiging", "Periodieke schenking"]))
        k = int(rng.integers(1, 7))
        years = sorted(rng.choice(np.arange(2017, 2025), size=k, replace=False))
        base = float(rng.choice([15.0, 25.0, 50.0, 120.0]))
        for year in years:
            day = dt.date(int(year), int(rng.integers(1, 13)), int(rng.integers(1, 29)))
            amount = round(base * (1 if kind != "Periodieke schenking" else 4), 2)
            status = "Gestorneerd" if kind == "Machtiging" and rng.random() < 0.1 else "Voldaan"
            rows.append(_gift(number, d, day, amount, kind, status))
            statuses[status] = statuses.get(status, 0) + 1
            if status == "Voldaan":
                revenue[number] = revenue.get(number, 0.0) + amount
                gifts[number] = gifts.get(number, 0) + 1
        if rng.random() < 0.04:  # the estate of a donor, or of someone who never gave
            estate = number if rng.random() < 0.5 else f"{900000 + d}"
            amount = round(float(rng.uniform(5000, 40000)), 2)
            rows.append(_gift(estate, d, dt.date(2024, 6, 14), amount, "Nalatenschap", "Voldaan"))
            statuses["Voldaan"] += 1
            legacies, legacy_amount = legacies + 1, legacy_amount + amount
    with path.open("w", newline="", encoding="cp1252") as f:
        writer = csv.DictWriter(f, fieldnames=DONOR_COLUMNS, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    return DonorTruth(
        customers=len(gifts),
        purchases=sum(gifts.values()),
        revenue=round(sum(revenue.values()), 2),
        statuses=statuses,
        one_off_rows=legacies,
        one_off_amount=round(legacy_amount, 2),
    )


def _gift(number: str, d: int, day: dt.date, amount: float, kind: str, status: str):
    return {
        "Relatienummer": number, "Aanhef": "Dhr./Mevr.", "Naam": f"Donateur {d} (Zoë)",
        "Datum gift": day.strftime("%d-%m-%Y"), "Bedrag": _comma(amount), "Soort gift": kind,
        "Kanaal": "Acceptgiro" if kind == "Eenmalige gift" else "Incasso",
        "Campagne": "Algemeen", "Betaalwijze": "Bank", "Status": status,
    }  # fmt: skip


MAGENTO_COLUMNS = [
    "ID", "Purchase Point", "Purchase Date", "Bill-to Name", "Ship-to Name",
    "Grand Total (Base)", "Grand Total (Purchased)", "Status", "Billing Address",
    "Shipping Address", "Shipping Information", "Customer Email", "Customer Group",
    "Subtotal", "Shipping and Handling", "Customer Name", "Payment Method", "Total Refunded",
]  # fmt: skip
"""Columns of Magento 2's sales order grid export (the default ones and optional ones)."""


def magento_export(path: Path, n_customers: int = 200, seed: int = 2) -> Truth:
    """Write a Magento 2 order grid export and its truth.

    Statuses: Complete, Processing (purchases; some Complete orders partially
    refunded in Total Refunded), Closed (fully refunded), Canceled, Pending,
    Suspected Fraud; guests and accounts alike identified by Customer Email.
    Dates and prices as the grid writes them (``Mar 15, 2023 10:21:43 AM``,
    ``€1,234.50``).
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, str]] = []
    statuses: dict[str, int] = {}
    kept: set[str] = set()
    purchases, revenue = 0, 0.0
    number = 100000000
    for c in range(n_customers):
        email = f"koper{c}@example.org"
        for day in _days(rng, dt.date(2022, 3, 1), 650, int(rng.integers(1, 6))):
            number += 1
            status = str(rng.choice(
                ["Complete", "Complete", "Complete", "Processing", "Closed", "Canceled",
                 "Pending", "Suspected Fraud"]
            ))  # fmt: skip
            subtotal = round(float(rng.uniform(20, 1900)), 2)
            total = round(subtotal + 5.0, 2)
            refunded = 0.0
            if status == "Complete" and rng.random() < 0.2:
                refunded = round(subtotal * 0.3, 2)
            if status == "Closed":
                refunded = total
            when = dt.datetime.combine(day, dt.time(int(rng.integers(0, 24)), 21, 43))
            rows.append({
                "ID": str(number), "Purchase Point": "Main Website\nMain Website Store\nNL",
                "Purchase Date": when.strftime("%b %d, %Y %I:%M:%S %p").replace(" 0", " "),
                "Bill-to Name": f"Koper {c}", "Ship-to Name": f"Koper {c}",
                "Grand Total (Base)": f"€{total:,.2f}", "Grand Total (Purchased)": f"€{total:,.2f}",
                "Status": status, "Billing Address": "Straat 1, Utrecht, 3511 AA",
                "Shipping Address": "Straat 1, Utrecht, 3511 AA",
                "Shipping Information": "Flat Rate - Fixed", "Customer Email": email,
                "Customer Group": "General" if c % 3 else "NOT LOGGED IN",
                "Subtotal": f"{subtotal:.2f}", "Shipping and Handling": "5.00",
                "Customer Name": f"Koper {c}", "Payment Method": "checkmo",
                "Total Refunded": f"€{refunded:,.2f}" if refunded else "",
            })  # fmt: skip
            statuses[status] = statuses.get(status, 0) + 1
            if status in ("Complete", "Processing"):
                kept.add(email)
                purchases += 1
                revenue += total - refunded
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=MAGENTO_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return Truth(len(kept), purchases, round(revenue, 2), statuses)


LIGHTSPEED_COLUMNS = [
    "Order number", "Date", "Status", "Payment status", "Shipment status",
    "Customer - Email Address", "Firstname", "Lastname", "Country", "Currency",
    "Total excl. tax", "Grand total",
]  # fmt: skip
"""Columns of the Lightspeed eCom orders export (assumed names, see presets.yml)."""


def lightspeed_export(path: Path, n_customers: int = 200, seed: int = 5) -> Truth:
    """Write a Lightspeed eCom orders export (``;``, decimal commas, Dutch shop) and its truth.

    Payment statuses: Paid, Partially paid (purchases), Not paid, Cancelled,
    Refunded; e-mail addresses in varying case.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, str]] = []
    statuses: dict[str, int] = {}
    kept: set[str] = set()
    purchases, revenue = 0, 0.0
    number = 5000
    for c in range(n_customers):
        email = f"klant{c}@winkel.nl"
        for day in _days(rng, dt.date(2022, 5, 1), 600, int(rng.integers(1, 6))):
            number += 1
            paid = str(rng.choice(
                ["Paid", "Paid", "Paid", "Partially paid", "Not paid", "Cancelled", "Refunded"]
            ))  # fmt: skip
            total = round(float(rng.uniform(15, 1800)), 2)
            rows.append({
                "Order number": f"ORD{number}", "Date": day.strftime("%d-%m-%Y"),
                "Status": "Completed (shipped)" if paid == "Paid" else "Processing",
                "Payment status": paid, "Shipment status": "Shipped",
                "Customer - Email Address": email.upper() if number % 4 == 0 else email,
                "Firstname": f"Klant{c}", "Lastname": "Jansen", "Country": "NL",
                "Currency": "EUR", "Total excl. tax": _comma(round(total / 1.21, 2)),
                "Grand total": _comma(total),
            })  # fmt: skip
            statuses[paid] = statuses.get(paid, 0) + 1
            if paid in ("Paid", "Partially paid"):
                kept.add(email)
                purchases += 1
                revenue += total
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=LIGHTSPEED_COLUMNS, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    return Truth(len(kept), purchases, round(revenue, 2), statuses)
