"""Client configuration: ``data/<client>/client.yml``, validated with pydantic.

A client folder holds ``client.yml`` (this schema), the client's ``_brand.yml``,
a logo and the transaction files. :func:`load_client` finds a client by name,
refusing names that could leave the data folder, and validates its config;
every validation error names the file, the key and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from clvreport.errors import ClientNotFoundError, ConfigError
from clvreport.safe_files import load_yaml

__all__ = [
    "ClientConfig",
    "ColumnMapping",
    "ContactColumns",
    "ContactCosts",
    "ContactsConfig",
    "ControlGroups",
    "CsvOptions",
    "DataConfig",
    "DataPolicies",
    "DiscreteOptions",
    "DuckDBOptions",
    "ExcelOptions",
    "SubscriptionOptions",
    "list_clients",
    "load_client",
    "load_config",
    "resolve_client_dir",
]

RESERVED_COLUMNS = frozenset(
    {
        "customer_id",
        "segment",
        "value_tier",
        "n_purchases",
        "revenue",
        "first_purchase",
        "last_purchase",
        "frequency",
        "recency",
        "t",
        "monetary_value",
        "historic_clv",
        "p_alive",
        "p_silence",
        "at_risk",
        "control_group",
        "expected_purchases",
        "expected_spend",
        "clv",
        "clv_low",
        "clv_high",
        "clv_if_alive",
        "value_at_stake",
        "clv_lifetime",
        "value_at_stake_lifetime",
        "customer_value",
        "recency_days",
        "action",
    }
)
"""Customer-table column names ``columns.extra`` may not use (compared case-insensitively)."""

CLIENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
CONFIG_FILE = "client.yml"


class _Strict(BaseModel):
    # no NaN or infinity anywhere: `costs: {phone: .inf}` or `gross_margin: .nan` are mistakes
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ColumnMapping(_Strict):
    """Which column of the export holds which field.

    Only ``customer_id``, ``date`` and either ``amount`` or both ``quantity``
    and ``unit_price`` are required; the rest enrich the report when present.
    """

    customer_id: str = Field(description="Customer identifier column.")
    date: str = Field(description="Order date or datetime column.")
    amount: str | None = Field(None, description="Order amount (revenue) column.")
    order_id: str | None = Field(None, description="Order/invoice number column.")
    quantity: str | None = Field(
        None, description="Quantity column (amount = quantity × unit price)."
    )
    unit_price: str | None = Field(None, description="Unit price column.")
    channel: str | None = Field(None, description="Sales channel column.")
    country: str | None = Field(None, description="Country column.")
    status: str | None = Field(None, description="Order status column (for cancelled orders).")
    currency: str | None = Field(
        None,
        description="Currency column (e.g. Shopify's 'Currency'): every kept row must hold the "
        "client's currency; the values seen are listed.",
    )
    refunded: str | None = Field(
        None,
        description="Refunded-amount column (e.g. Shopify's 'Refunded Amount'): subtracted from "
        "the order's amount (partial refunds netted); empty counts as 0.",
    )
    customer_fallback: str | None = Field(
        None,
        description="Column used as the customer id where customer_id is empty or one of "
        "data.policies.placeholder_customers (e.g. WooCommerce guests: 'Billing Email' when "
        "'Customer User ID' is 0). A fallback value that is also on rows with a real "
        "customer id (a guest who also has an account, by the same e-mail address, compared "
        "in lower case) joins that customer.",
    )
    document_type: str | None = Field(
        None,
        description="Document-type column of an invoice export (e.g. 'Factuur' / 'Creditnota'): "
        "rows whose value is one of data.policies.credit_notes are credit notes, their amount "
        "counted negative whatever its sign (netted against the customer's revenue, not a "
        "purchase).",
    )
    extra: tuple[str, ...] | None = Field(
        None,
        description="Further columns passed through to the action lists (customers.xlsx) and "
        "customers.csv, e.g. [email, naam]: per customer the value of the latest order that "
        "has one. Shown under the export's own column name.",
    )

    @field_validator("extra", mode="before")
    @classmethod
    def _extra_one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (value,)
        return value

    def model_post_init(self, __context: Any) -> None:  # noqa: D102
        if self.amount is None and (self.quantity is None or self.unit_price is None):
            raise ValueError(
                "give 'amount', or both 'quantity' and 'unit_price' so the amount can be computed"
            )
        extra = self.extra or ()
        names = [name.strip().casefold() for name in extra]
        if any(not name for name in names):
            raise ValueError("extra: column names must not be empty")
        if len(set(names)) < len(names):
            raise ValueError("extra: a column is listed twice")
        mapped = {
            value.strip().casefold()
            for field, value in self
            if field != "extra" and isinstance(value, str)
        }
        clash = [name for name in extra if name.strip().casefold() in mapped]
        if clash:
            raise ValueError(f"extra: '{clash[0]}' is already mapped to another field")
        reserved = [name for name in extra if name.strip().casefold() in RESERVED_COLUMNS]
        if reserved:
            raise ValueError(
                f"extra: '{reserved[0]}' is the name of a column the report computes; "
                "rename the column in the export"
            )


class CsvOptions(_Strict):
    """How to read CSV files; ``auto`` lets the reader detect it."""

    delimiter: str = Field(
        "auto",
        description="Field separator, e.g. ';' or ','; 'whitespace' for runs of spaces/tabs "
        "(fixed-width exports such as CDNOW); 'auto' detects.",
    )
    decimal: Literal["auto", ".", ","] = Field(
        "auto", description="Decimal mark; Dutch exports use ',' (1.234,56)."
    )
    encoding: Literal["auto", "utf-8", "utf-8-sig", "cp1252", "latin-1"] = Field(
        "auto", description="Text encoding; 'auto' tries UTF-8, UTF-8 with BOM, then cp1252."
    )
    header: bool = Field(True, description="Whether the first line holds column names.")
    names: tuple[str, ...] | None = Field(
        None, description="Column names to use for files without a header line."
    )
    date_format: str = Field(
        "auto", description="strftime format such as '%d-%m-%Y' or '%Y%m%d'; 'auto' detects."
    )


class DataPolicies(_Strict):
    """What to do with rows that are not plain purchases. Every exclusion is counted."""

    returns: Literal["net", "drop"] = Field(
        "net",
        description="Negative amounts (returns, credit notes): 'net' subtracts them from the "
        "customer's revenue without counting a purchase; 'drop' ignores them.",
    )
    zero_amounts: Literal["drop", "keep"] = Field(
        "keep",
        description="Orders of 0: 'keep' counts them as purchases (as the published analyses "
        "do) and lists how many there are; 'drop' excludes them.",
    )
    missing_customer: Literal["exclude"] = Field(
        "exclude",
        description="Rows without customer id (guest checkouts) are excluded and counted.",
    )
    duplicates: Literal["auto", "drop", "keep"] = Field(
        "auto",
        description="Rows identical in every mapped column: 'drop' keeps one; 'keep' keeps "
        "all and lists them as possible duplicates; 'auto' drops them when an order id is "
        "mapped (then they are truly the same line) and keeps them otherwise.",
    )
    outliers: Literal["flag", "exclude", "keep"] = Field(
        "flag",
        description="Amounts far outside the client's distribution (above both 1000 times the "
        "median amount and the fence Q3 + 3 IQR of the log amounts), and exceptional orders "
        "(far larger than both the customer's other orders and the median order: at least 10 "
        "times, more when amounts vary widely): 'flag' keeps them and lists them, 'exclude' "
        "leaves them out (counted), 'keep' keeps them silently. Kept exceptional orders count "
        "in full in revenue; the forecast of future spending counts them as ordinary orders "
        "unless the holdout check prefers their full amounts.",
    )
    future_dates: Literal["exclude"] = Field(
        "exclude",
        description="Rows dated after the as-of date are excluded and counted; without an "
        "as_of, rows dated after today are (the report date is then the last date not after "
        "today).",
    )
    cancelled_statuses: tuple[str, ...] = Field(
        ("cancelled", "canceled", "geannuleerd", "void"),
        description="Status values (case-insensitive) that mark an order as not bought "
        "(cancelled, refunded, failed, pending); validate and the report list every status seen.",
    )
    order_lines: Literal["rows", "order_total", "sum"] = Field(
        "rows",
        description="What a row is: 'rows' (each row a purchase); with columns.order_id, rows "
        "may be the line items of an order: order-level fields (customer, date, status, "
        "total, ...) empty on later rows are filled in from the order's other rows and the "
        "order counts once, with 'order_total' its amount (the order total, taken once) or "
        "'sum' the amounts of its rows added up. The further rows are counted as order_line.",
    )
    one_off_channels: tuple[str, ...] = Field(
        ("nalatenschap", "nalatenschappen", "legaat", "legaten", "legacy", "bequest"),
        description="Values of columns.channel (case-insensitive) that mark a one-off gift or "
        "order, not a habit: legacies, major gifts, one-off campaigns. Their rows are left out "
        "of the model and of every customer's expected value, and reported apart (rows and "
        "amount per channel); a customer with only such rows is on no action list. [] counts "
        "every channel.",
    )
    credit_notes: tuple[str, ...] = Field(
        ("creditnota", "creditfactuur", "credit note", "credit invoice", "creditnote"),
        description="Values of columns.document_type (case-insensitive) that mark a credit "
        "note: its amount counts negative (netted against the customer's revenue, not a "
        "purchase), also when the export writes it positive. Credit notes written with a "
        "negative amount need no document type: returns: net nets them.",
    )
    placeholder_customers: tuple[str, ...] = Field(
        (),
        description="Customer ids that mean 'no customer' (case-insensitive), e.g. ['0', "
        "'guest']: their rows use columns.customer_fallback when it has a value, else they "
        "are excluded and counted (placeholder_customer).",
    )
    large_customers: tuple[str, ...] = Field(
        (),
        description="Customer ids known to be real customers although they hold more than 5% "
        "of the orders; without this the ingest refuses such an id as a likely placeholder.",
    )

    @field_validator(
        "cancelled_statuses",
        "one_off_channels",
        "credit_notes",
        "placeholder_customers",
        "large_customers",
        mode="before",
    )
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str | int):
            return (str(value),)
        if isinstance(value, list | tuple):
            return tuple(str(v) for v in value)  # YAML reads an unquoted 0 as a number
        return value


class ExcelOptions(_Strict):
    """How to read Excel workbooks."""

    sheet: str | int | None = Field(
        None,
        description="Sheet to read: its name, its position (0 = the first), or 'all' for every "
        "sheet holding the mapped columns (a cover or notes sheet is skipped). Default: the "
        "first sheet; further sheets with the same columns are then flagged.",
    )

    @field_validator("sheet")
    @classmethod
    def _sheet_index(cls, value: str | int | None) -> str | int | None:
        if isinstance(value, int) and value < 0:
            raise ValueError("a sheet position is 0 (the first sheet) or more")
        return value


class DataConfig(_Strict):
    """Where the transactions are and how to read them."""

    sources: tuple[str, ...] = Field(
        description="Transaction files relative to the client folder; globs such as "
        "'exports/*.csv' are allowed. CSV, Parquet and Excel (.xlsx)."
    )
    source: Literal[
        "other",
        "shopify",
        "woocommerce",
        "magento",
        "lightspeed",
        "exact_online",
        "moneybird",
        "eboekhouden",
        "donor_crm",
    ] = Field(
        "other",
        description="The system the export comes from. A preset (clvreport/ingest/presets.yml: "
        "shopify, woocommerce, magento, lightspeed, exact_online, moneybird, eboekhouden, "
        "donor_crm) sets the data.policies its exports need (statuses that are not purchases, "
        "line items merged per order, guest ids, credit notes); a policy written in "
        "client.yml overrides the preset's.",
    )
    format: Literal["auto", "csv", "parquet", "excel"] = Field(
        "auto", description="File format; 'auto' uses the file extension."
    )
    csv: CsvOptions = Field(default_factory=CsvOptions)
    excel: ExcelOptions = Field(default_factory=ExcelOptions)
    columns: ColumnMapping
    policies: DataPolicies = Field(default_factory=DataPolicies)

    @model_validator(mode="before")
    @classmethod
    def _preset_policies(cls, value: Any) -> Any:
        if not isinstance(value, dict) or value.get("source") in (None, "other"):
            return value
        from clvreport.ingest.presets import preset_policies

        policies = preset_policies(str(value["source"]))
        if policies is None:
            return value  # an unknown source: the Literal reports it
        given = value.get("policies")
        if isinstance(given, dict):
            policies = {**policies, **given}
        elif given is not None:
            return value  # not a mapping: the field reports it
        return {**value, "policies": policies}

    @model_validator(mode="after")
    def _order_lines_need_order_id(self) -> DataConfig:
        if self.policies.order_lines != "rows" and self.columns.order_id is None:
            raise ValueError(
                f"policies.order_lines: {self.policies.order_lines} merges the rows of an order "
                "and needs columns.order_id (the order number column)"
            )
        return self

    @field_validator("sources", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (value,)
        return value

    @field_validator("sources")
    @classmethod
    def _relative_inside(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one transaction file")
        for source in value:
            if Path(source).is_absolute() or ".." in Path(source).parts:
                raise ValueError(
                    f"'{source}' must be a path inside the client folder "
                    "(no absolute paths, no '..')"
                )
        return value


class ControlGroups(_Strict):
    """Control groups held back from the action lists, so the next report can measure the actions.

    Every advised action's list marks a random share of its customers (by
    value strata, so the groups look alike) as *not to contact*; the next
    report compares them with the contacted customers (see
    :mod:`clvreport.experiments`).
    """

    share: float = Field(
        0.10,
        ge=0,
        le=0.5,
        description="Share of each action's customers held back as control group "
        "(0.10 = 10%; 0 switches control groups off).",
    )
    min_size: int = Field(
        30,
        ge=2,
        description="Fewest control customers an action needs for its effect to be measured; "
        "below it the report asks for a larger share.",
    )
    actions: dict[str, float] = Field(
        default_factory=dict,
        description="Share per action, overriding share, e.g. {win_back_personal: 0.2}.",
    )

    @field_validator("actions")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        for action, share in value.items():
            if isinstance(share, bool) or not isinstance(share, int | float):
                raise ValueError(f"{action}: expected a share such as 0.1, got {share!r}")
            if not 0 <= share <= 0.5:
                raise ValueError(f"{action}: a control share lies between 0 and 0.5, not {share}")
        return {str(k): float(v) for k, v in value.items()}

    def share_of(self, action: str) -> float:
        """The control share of ``action``."""
        return self.actions.get(action, self.share)


class ContactColumns(_Strict):
    """Which column of the contacts export holds which field."""

    customer_id: str = Field(description="Customer identifier column (as in the transactions).")
    date: str | None = Field(
        None,
        description="Date of the contact; contacts outside the period between the two "
        "reports are ignored.",
    )
    action: str | None = Field(
        None,
        description="Action key the contact belonged to (e.g. win_back_personal); without it "
        "any contact of a listed customer counts as reaching them.",
    )


class ContactsConfig(_Strict):
    """An export of who was actually contacted (e-mail platform, call centre), optional.

    With it the next report knows which customers on the lists were reached
    (and which control customers were contacted anyway); without it, it
    assumes the lists were carried out as exported and says so.
    """

    sources: tuple[str, ...] = Field(
        description="Contact files relative to the client folder (CSV or Excel)."
    )
    columns: ContactColumns
    csv: CsvOptions = Field(
        default_factory=lambda: CsvOptions(),
        description="How to read CSV contact files (delimiter, encoding, date_format).",
    )

    @field_validator("sources", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (value,)
        return value

    @field_validator("sources")
    @classmethod
    def _relative_inside(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one contacts file")
        for source in value:
            if Path(source).is_absolute() or ".." in Path(source).parts:
                raise ValueError(
                    f"'{source}' must be a path inside the client folder "
                    "(no absolute paths, no '..')"
                )
        return value


class ContactCosts(_Strict):
    """Cost per contact of the recommended actions, in the client's currency.

    Leave a key out to use the assumption in ``clvreport/rules/recommendations.yml``.
    """

    phone: float | None = Field(
        None, ge=0, description="Cost of one phone call (assumption: 10.00)."
    )
    email: float | None = Field(
        None, ge=0, description="Cost of one e-mail, per address (assumption: 0.25)."
    )
    letter: float | None = Field(
        None, ge=0, description="Cost of one letter incl. postage (assumption: 2.25)."
    )
    discount: float | None = Field(
        None, ge=0, description="Cost of sending one discount voucher (assumption: 0.25)."
    )
    discount_share: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Voucher value as a share of the customer's average order value "
        "(assumption: 0.10).",
    )
    discount_redemption: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Share of the customers sent a voucher who use it (assumption: 0.30).",
    )


class DuckDBOptions(_Strict):
    """How the embedded DuckDB engine runs (``engine: duckdb``, the default)."""

    memory_limit: str = Field(
        "512MB",
        pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Memory DuckDB may use before it spills to disk, e.g. '512MB' or '4GB'; "
        "raise it for clients with tens of millions of transactions.",
    )


class SparkOptions(_Strict):
    """Where and how Spark runs (``engine: spark``)."""

    master: str = Field(
        "local[*]",
        description="Spark master URL: 'local[*]' (all cores of this machine), "
        "'spark://host:7077', 'yarn', ...",
    )
    driver_memory: str = Field("4g", description="Memory of the Spark driver, e.g. '4g'.")
    conf: dict[str, str] = Field(
        default_factory=dict,
        description="Further Spark settings (spark.* keys), passed to the session unchanged.",
    )
    scratch_dir: str | None = Field(
        None,
        description="Folder for intermediate Parquet files that driver and executors can "
        "both reach (e.g. 'hdfs:///tmp/clvreport'); default: a local temp folder.",
    )


class DiscreteOptions(_Strict):
    """Giving opportunities of donors and members (``business: discrete``).

    Each donor has one opportunity to give per period; several gifts in one
    period count once. Periods are counted from each donor's own first period
    (the period of the first gift is period 0, not an opportunity).
    """

    period: Literal["year", "quarter", "month"] = Field(
        "year",
        description="Length of one giving opportunity: 'year' (a yearly appeal or membership), "
        "'quarter' or 'month'. Only whole periods up to the report date count.",
    )


class SubscriptionOptions(_Strict):
    """Contracts that renew every period until cancelled (``business: subscription``).

    One row of the export per contract: its start date, its end date (empty
    while the contract is active) and optionally its plan and price. The
    required ``data.columns`` still apply: ``date`` is the start column and
    ``amount`` the price per period.
    """

    start: str | None = Field(
        None,
        description="Column of the contract start date (required for business: subscription); "
        "map data.columns.date to this column too.",
    )
    end: str | None = Field(
        None,
        description="Column of the contract end date, empty while the contract is active "
        "(required for business: subscription).",
    )
    period: Literal["month", "quarter", "year"] = Field(
        "month", description="Renewal period of the contracts: 'month', 'quarter' or 'year'."
    )
    plan: str | None = Field(
        None,
        description="Optional column naming the plan or product of the contract; the report "
        "groups its cohorts by it.",
    )
    price: str | None = Field(
        None,
        description="Optional column of the price per renewal period; without it "
        "data.columns.amount is used.",
    )
    winback_half_life_months: float = Field(
        6.0,
        gt=0,
        le=120,
        description="Assumption: months after a cancellation in which the chance to win an "
        "ex-subscriber back halves (the win-back value decays with it).",
    )
    winback_horizon_months: int = Field(
        24,
        ge=0,
        le=120,
        description="Assumption: ex-subscribers who cancelled longer ago than this are not "
        "worth a win-back action (value 0, not on the list).",
    )


class ClientConfig(_Strict):
    """A client's ``client.yml``.

    Examples
    --------
    >>> cfg = ClientConfig.model_validate({
    ...     "name": "Voorbeeld B.V.",
    ...     "data": {"sources": "orders.csv",
    ...              "columns": {"customer_id": "klant", "date": "datum", "amount": "bedrag"}},
    ... })
    >>> cfg.language, cfg.horizon_months
    ('nl', 12)
    """

    name: str = Field(description="Display name of the client, shown on the report.")
    business: Literal["transactions", "discrete", "subscription"] = Field(
        "transactions",
        description="Kind of customer relationship: 'transactions' (webshop-like purchases at "
        "any time), 'discrete' (donors or members with one giving opportunity per period, "
        "see discrete) or 'subscription' (contracts that renew until cancelled, see "
        "subscription).",
    )
    discrete: DiscreteOptions = Field(
        default_factory=lambda: DiscreteOptions(),
        description="Giving opportunities, used when business is 'discrete'.",
    )
    subscription: SubscriptionOptions = Field(
        default_factory=lambda: SubscriptionOptions(),
        description="Contract columns and renewal period, used when business is 'subscription'.",
    )
    language: Literal["nl", "en"] = Field("nl", description="Report language.")
    currency: str = Field("EUR", description="ISO 4217 currency code of the amounts.")
    as_of: dt.date | None = Field(
        None, description="Report date; defaults to the last transaction date."
    )
    time_unit: Literal["days", "weeks", "months"] = Field(
        "weeks", description="Time unit the models are fitted in."
    )
    horizon_months: int = Field(12, ge=1, le=120, description="Prediction horizon in months.")
    discount_rate: float = Field(
        0.10, ge=0, lt=1, description="Annual discount rate for future revenue (0.10 = 10%)."
    )
    min_history_weeks: int = Field(
        8,
        ge=0,
        le=104,
        description="Customers known for fewer weeks are ranked and listed after the others "
        "(their forecast rests on very few purchases); 0 switches this off.",
    )
    lifetime_years: int = Field(
        5,
        ge=1,
        le=20,
        description="Most years of a customer's remaining lifetime counted in the lifetime "
        "value (clv_lifetime) and the value at stake the actions are priced on.",
    )
    gross_margin: float = Field(
        1.0, gt=0, le=1, description="Share of revenue that is margin (1.0 = report revenue)."
    )
    holdout_months: int = Field(
        6, ge=0, le=36, description="Months held back to check the model's predictions (0 = none)."
    )
    season: Literal["auto", "off"] = Field(
        "auto",
        description="Seasonal pattern of the purchase forecasts: 'auto' estimates a monthly "
        "index from two or more whole years of history and uses it when the pattern is clear; "
        "'off' forecasts on the calendar.",
    )
    brand: str = Field("_brand.yml", description="Brand file relative to the client folder.")

    @field_validator("brand")
    @classmethod
    def _brand_inside(cls, value: str) -> str:
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError(
                f"'{value[:120]}' must be a path inside the client folder "
                "(no absolute paths, no '..')"
            )
        return value

    engine: Literal["duckdb", "spark"] = Field(
        "duckdb",
        description="Data engine: 'duckdb' (embedded, the default) or 'spark' "
        "(needs `pip install 'clvreport[spark]'` and Java 17+).",
    )
    duckdb: DuckDBOptions = Field(
        default_factory=lambda: DuckDBOptions(),
        description="DuckDB settings, used when engine is 'duckdb'.",
    )
    spark: SparkOptions = Field(
        default_factory=lambda: SparkOptions(),
        description="Spark settings, used when engine is 'spark'.",
    )
    data: DataConfig = Field(description="Where the transactions are and how to read them.")
    segments: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the RFM segment rules."
    )
    recommendations: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the retention recommendation rules."
    )
    actions: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides of the assumptions per recommended action: "
        "`{action: {channel, success_rate, uplift, only_worth_contacting}}` "
        "(defaults in clvreport/rules/recommendations.yml).",
    )
    costs: ContactCosts = Field(
        default_factory=ContactCosts,
        description="Cost per contact by channel, for the cost and net return of the actions.",
    )
    control_groups: ControlGroups = Field(
        default_factory=lambda: ControlGroups(),
        description="Control groups in the action lists, so the next report measures what "
        "each action did (share 0 switches them off).",
    )
    contacts: ContactsConfig | None = Field(
        None,
        description="Optional export of who was actually contacted after the previous report "
        "(CSV/Excel with customer, date and action).",
    )
    prepared_by: str | None = Field(
        None, description="Who prepared the report (name or firm), shown on the cover."
    )
    xlsx_max_rows: int = Field(
        5000,
        ge=1,
        le=1_000_000,
        description="Most customers per sheet of customers.xlsx; the rest are in customers.csv.",
    )

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of_date(cls, value: Any) -> Any:
        # the one reader of dates a user writes (YAML reads an unquoted 2024-12-31 as a date)
        from clvreport.dates import parse_date
        from clvreport.errors import ConfigError

        try:
            return parse_date(value, "as_of")
        except ConfigError as exc:
            raise ValueError(f"{exc.message.removeprefix('as_of ')}; {exc.hint}") from None

    @field_validator("season", mode="before")
    @classmethod
    def _season_switch(cls, value: Any) -> Any:
        # YAML reads an unquoted off/on (and no/yes) as a boolean
        if value is False:
            return "off"
        if value is True:
            return "auto"
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError("use a three-letter ISO 4217 code such as 'EUR' or 'USD'")
        from babel.numbers import list_currencies

        if value not in list_currencies():
            raise ValueError(
                f"'{value}' is not an ISO 4217 currency: use a code such as 'EUR', 'USD' or 'GBP'"
            )
        return value

    @model_validator(mode="after")
    def _audience_settings(self) -> ClientConfig:
        """The settings the client's audience needs (e.g. a subscription's start and end)."""
        from clvreport.audiences import audience

        audience(self.business).check_config(self)
        return self


def _format_validation_error(error: ValidationError, path: Path) -> ConfigError:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            parent = _model_at(item["loc"][:-1])
            allowed = sorted(parent.model_fields) if parent else []
            close = difflib.get_close_matches(str(item["loc"][-1]), allowed, n=1)
            message = "unknown key" + (f"; did you mean '{close[0]}'?" if close else "")
            if allowed:
                message += f" Allowed here: {', '.join(allowed)}."
        elif item["type"] == "missing":
            message = "required key is missing"
        lines.append(f"  - {key}: {message}")
    return ConfigError(
        "invalid configuration:\n" + "\n".join(lines),
        path=path,
        hint="correct the keys listed above; the config reference in docs/ lists every key.",
    )


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = ClientConfig
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def load_config(path: Path | str) -> ClientConfig:
    """Read and validate a ``client.yml``.

    Parameters
    ----------
    path
        Path to the YAML file.

    Returns
    -------
    ClientConfig
        The validated configuration.

    Raises
    ------
    ConfigError
        If the file is missing, is not valid YAML, or breaks the schema. The
        message names the file and every offending key.

    Examples
    --------
    >>> cfg = load_config("data/demo/client.yml")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError("file not found", path=path, hint="create it; see data/demo/client.yml")
    try:
        raw = load_yaml(path.read_text(encoding="utf-8-sig"), path=path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"not valid YAML{where}: {getattr(exc, 'problem', exc)}",
            path=path,
            hint="check indentation and quoting around that line",
        ) from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=path, hint="save the file as UTF-8") from None
    if not isinstance(raw, dict):
        raise ConfigError(
            "expected a mapping of keys (name:, data:, ...) at the top level", path=path
        )
    try:
        return ClientConfig.model_validate(raw)
    except ValidationError as exc:
        raise _format_validation_error(exc, path) from None


def list_clients(data_dir: Path | str = "data") -> list[str]:
    """Names of the clients in ``data_dir``: every sub-folder holding a ``client.yml``.

    Parameters
    ----------
    data_dir
        The folder holding one sub-folder per client.

    Returns
    -------
    list of str
        Sorted client names.

    Examples
    --------
    >>> list_clients("data")  # doctest: +SKIP
    ['cdnow', 'demo']
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return []
    return sorted(
        child.name
        for child in data_dir.iterdir()
        if child.is_dir() and CLIENT_NAME.match(child.name) and (child / CONFIG_FILE).is_file()
    )


def resolve_client_dir(client: str, data_dir: Path | str = "data") -> Path:
    """Find the folder of ``client``, refusing anything that could leave ``data_dir``.

    Parameters
    ----------
    client
        A plain identifier: letters, digits, ``-`` and ``_``.
    data_dir
        The folder holding one sub-folder per client.

    Returns
    -------
    Path
        The resolved client folder.

    Raises
    ------
    ClientNotFoundError
        For names that are not plain identifiers, folders that are symlinks
        leaving ``data_dir``, and unknown clients (the message lists the known ones).

    Examples
    --------
    >>> resolve_client_dir("demo", "data")  # doctest: +SKIP
    PosixPath('.../data/demo')
    """
    data_dir = Path(data_dir)
    known = list_clients(data_dir)
    listing = ", ".join(known) if known else f"none yet: add a folder under {data_dir}/"
    if not CLIENT_NAME.match(client or ""):
        raise ClientNotFoundError(
            f"'{client}' is not a valid client name: use letters, digits, '-' and '_' only",
            hint=f"known clients: {listing}",
        )
    folder = data_dir / client
    root = data_dir.resolve()
    if folder.exists() and not folder.resolve().is_relative_to(root):
        raise ClientNotFoundError(
            f"client folder '{folder}' points outside {data_dir}/ and is refused",
            hint="copy the client's files into the data folder instead of linking them",
        )
    if not (folder / CONFIG_FILE).is_file():
        close = difflib.get_close_matches(client, known, n=1)
        suggestion = f"did you mean '{close[0]}'? " if close else ""
        raise ClientNotFoundError(
            f"unknown client '{client}' (no {folder / CONFIG_FILE})",
            hint=f"{suggestion}known clients: {listing}",
        )
    return folder.resolve()


def load_client(client: str, data_dir: Path | str = "data") -> tuple[Path, ClientConfig]:
    """Resolve a client by name and load its validated config.

    Parameters
    ----------
    client
        Client name, the folder name under ``data_dir``.
    data_dir
        The folder holding one sub-folder per client.

    Returns
    -------
    tuple of (Path, ClientConfig)
        The client folder and its configuration.

    Examples
    --------
    >>> client_dir, config = load_client("demo")  # doctest: +SKIP
    >>> config.currency  # doctest: +SKIP
    'EUR'
    """
    folder = resolve_client_dir(client, data_dir)
    return folder, load_config(folder / CONFIG_FILE)
