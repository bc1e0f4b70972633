"""The input contract of SPEC §2: datasets, their keys, columns, types and rules.

One place describes each extract; the loader derives its validation SQL and the raw
tables from it, and the generator writes exactly these columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Column kinds. `timestamp` is ISO 8601 UTC in the file, TIMESTAMP (UTC) in the warehouse.
STR, INT, DECIMAL, DATE, TIMESTAMP, BOOL = "str", "int", "decimal", "date", "timestamp", "bool"

# Values are kept as sent (SPEC §2): an amount keeps every decimal it has, up to
# DECIMAL_SCALE of them (more is a rejected row, never a rounded value).
DECIMAL_PRECISION, DECIMAL_SCALE = 38, 10

SQL_TYPES = {
    STR: "VARCHAR",
    INT: "INTEGER",
    DECIMAL: f"DECIMAL({DECIMAL_PRECISION},{DECIMAL_SCALE})",
    DATE: "DATE",
    TIMESTAMP: "TIMESTAMP",
    BOOL: "BOOLEAN",
}

# Any field up to this many bytes loads (SPEC §2); a longer one is a rejected row.
MAX_FIELD_BYTES = 10 * 1024 * 1024

# Patterns are matched against the whole value, in Python (`re.fullmatch`) and in DuckDB
# (`regexp_full_match`, RE2): keep them to the syntax both share.
#
# A seller id names files (its newsletter's PDF), so it is a plain file name: 1-64 ASCII
# letters, digits, '.', '_', '-', starting with a letter or digit (never '.', '..', '/').
SELLER_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
# One email address: `local@domain`, no spaces. The local part is RFC 5322's dot-atom
# text (nothing that could end an address or a header: no spaces, quotes, commas,
# angle brackets); the domain has two or more dot-separated labels of letters, digits
# and inner hyphens.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
EMAIL_ADDRESS_PATTERN = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@" + _LABEL + r"(\." + _LABEL + r")+"
# `email` holds one or more addresses separated by ';' (spaces around a ';' are allowed).
EMAIL_SEPARATOR = ";"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = STR
    # optional: the column may be missing from the file's header (then all NULL).
    optional: bool = False
    # nullable: the column must be in the header, but an empty value means something.
    nullable: bool = False
    enum: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    # NULL allowed only when another column has one of these values (AFN promise dates).
    null_when: tuple[str, tuple[str, ...]] | None = None
    # A text value must match this pattern as a whole (`pattern_label` says what it is
    # in a reject reason); with `separator`, each item of the separated list must.
    pattern: str | None = None
    pattern_label: str = ""
    separator: str | None = None

    @property
    def allows_null(self) -> bool:
        return self.optional or self.nullable

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]


@dataclass(frozen=True)
class Dataset:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # Event timestamps that must be at or before the row's own last_updated_at.
    event_columns: tuple[str, ...] = ()
    # The outcome histories a version of this dataset changes (pipeline/models/engine.py):
    # (entity, column holding the entity's key). Sellers and notices have none: builds
    # read them as of the date directly, they are small.
    state_refs: tuple[tuple[str, str], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns a file must have in its header (optional ones may be absent)."""
        return tuple(c.name for c in self.columns if not c.optional)

    @property
    def has_seller_id(self) -> bool:
        return "seller_id" in self.column_names

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


LAST_UPDATED = Column("last_updated_at", TIMESTAMP)

ORDER_STATUSES = ("pending", "unshipped", "shipped", "delivered", "cancelled")
CHANNELS = ("MFN", "AFN")
CANCEL_INITIATORS = ("seller", "buyer", "marketplace")
CLAIM_STATUSES = (
    "open",
    "granted",
    "seller_refunded",
    "cancelled",
    "denied",
    "withdrawn",
    "marketplace_funded",
)
CHARGEBACK_KINDS = ("service", "fraud")
CHARGEBACK_STATUSES = ("open", "upheld", "reversed")
NOTICE_CATEGORIES = (
    "listing_policy",
    "ip_complaint",
    "authenticity",
    "product_condition",
    "product_safety",
    "restricted_product",
    "performance",
    "other",
)
NOTICE_SEVERITIES = ("low", "medium", "high", "critical")
# The buyer's answer, after the seller replied, to "did this solve your problem?".
BUYER_VERDICTS = ("solved", "not_solved")

_AFN_ONLY = ("fulfillment_channel", ("AFN",))

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "sellers",
            key=("seller_id",),
            columns=(
                Column(
                    "seller_id",
                    pattern=SELLER_ID_PATTERN,
                    pattern_label="a seller id (1-64 letters, digits, '.', '_', '-', "
                    "starting with a letter or digit)",
                ),
                Column("seller_name"),
                Column(
                    "email",
                    pattern=EMAIL_ADDRESS_PATTERN,
                    pattern_label="an email address (local@domain, no spaces, a domain of "
                    "two or more labels)",
                    separator=EMAIL_SEPARATOR,
                ),
                Column("marketplace"),
                Column("registered_date", DATE),
                LAST_UPDATED,
            ),
        ),
        Dataset(
            "orders",
            key=("order_id",),
            columns=(
                Column("order_id"),
                Column("seller_id"),
                Column("purchased_at", TIMESTAMP),
                LAST_UPDATED,
                Column("order_status", enum=ORDER_STATUSES),
                Column("fulfillment_channel", enum=CHANNELS),
                Column("product_line"),
                Column("sku"),
                # 0 is valid: marketplace reports show it on cancelled lines, and those
                # lines may have no price or currency either.
                Column("quantity", INT, min_value=0),
                Column("item_price", DECIMAL, optional=True, min_value=0),
                Column("currency", optional=True),
                Column("latest_ship_date", DATE, null_when=_AFN_ONLY),
                Column("latest_delivery_date", DATE, null_when=_AFN_ONLY),
            ),
            event_columns=("purchased_at",),
            state_refs=(("order", "order_id"),),
        ),
        Dataset(
            "shipments",
            key=("order_id",),
            columns=(
                Column("order_id"),
                Column("ship_confirmed_at", TIMESTAMP),
                Column("carrier"),
                Column("tracking_id", nullable=True),
                Column("first_scan_at", TIMESTAMP, nullable=True),
                Column("delivered_at", TIMESTAMP, nullable=True),
                LAST_UPDATED,
            ),
            event_columns=("ship_confirmed_at", "first_scan_at", "delivered_at"),
            state_refs=(("order", "order_id"),),
        ),
        Dataset(
            "cancellations",
            key=("order_id",),
            columns=(
                Column("order_id"),
                Column("cancelled_at", TIMESTAMP),
                Column("initiated_by", enum=CANCEL_INITIATORS),
                Column("reason", optional=True),
                LAST_UPDATED,
            ),
            event_columns=("cancelled_at",),
            state_refs=(("order", "order_id"),),
        ),
        Dataset(
            "refunds",
            key=("refund_id",),
            columns=(
                Column("refund_id"),
                Column("order_id"),
                Column("refunded_at", TIMESTAMP),
                Column("amount", DECIMAL, min_value=0),
                Column("reason", optional=True),
                LAST_UPDATED,
            ),
            event_columns=("refunded_at",),
            state_refs=(("order", "order_id"),),
        ),
        Dataset(
            "feedback",
            key=("order_id",),
            columns=(
                Column("order_id"),
                Column("left_at", TIMESTAMP),
                Column("rating", INT, min_value=1, max_value=5),
                Column("comment", optional=True),
                Column("removed", BOOL),
                LAST_UPDATED,
            ),
            event_columns=("left_at",),
            state_refs=(("order", "order_id"),),
        ),
        Dataset(
            "claims",
            key=("claim_id",),
            columns=(
                Column("claim_id"),
                Column("order_id"),
                Column("filed_at", TIMESTAMP),
                Column("status", enum=CLAIM_STATUSES),
                LAST_UPDATED,
            ),
            event_columns=("filed_at",),
            state_refs=(("order", "order_id"),),
        ),
        Dataset(
            "chargebacks",
            key=("chargeback_id",),
            columns=(
                Column("chargeback_id"),
                Column("order_id"),
                Column("filed_at", TIMESTAMP),
                Column("kind", enum=CHARGEBACK_KINDS),
                Column("status", enum=CHARGEBACK_STATUSES),
                LAST_UPDATED,
            ),
            event_columns=("filed_at",),
            state_refs=(("order", "order_id"),),
        ),
        Dataset(
            "messages",
            key=("message_id",),
            columns=(
                Column("message_id"),
                Column("thread_id"),
                Column("seller_id"),
                Column("order_id", optional=True),
                Column("received_at", TIMESTAMP),
                Column("first_response_at", TIMESTAMP, nullable=True),
                Column("no_response_needed", BOOL),
                # Empty: not asked or not answered; it arrives as a later version.
                Column("buyer_verdict", optional=True, enum=BUYER_VERDICTS),
                LAST_UPDATED,
            ),
            event_columns=("received_at", "first_response_at"),
            state_refs=(("message", "message_id"), ("thread", "thread_id"), ("order", "order_id")),
        ),
        Dataset(
            "notices",
            key=("notice_id",),
            columns=(
                Column("notice_id"),
                Column("seller_id"),
                Column("issued_at", TIMESTAMP),
                Column("category", enum=NOTICE_CATEGORIES),
                Column("severity", enum=NOTICE_SEVERITIES),
                Column("subject"),
                Column("read_at", TIMESTAMP, nullable=True),
                Column("resolved_at", TIMESTAMP, nullable=True),
                LAST_UPDATED,
            ),
            event_columns=("issued_at", "read_at", "resolved_at"),
        ),
    )
}

# Load order within a day: sellers first, so that rows of a seller registered that day
# pass the seller check.
DATASET_ORDER: tuple[str, ...] = tuple(DATASETS)

FILE_SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet")


def split_list(value: str, separator: str = EMAIL_SEPARATOR) -> list[str]:
    """The items of a separated value (`email`), spaces around separators removed."""
    return [item.strip() for item in value.split(separator)]


def invalid_address(value: str) -> str | None:
    """The first item of an `email` value that is not an address, or None when all are."""
    for item in split_list(value):
        if not re.fullmatch(EMAIL_ADDRESS_PATTERN, item):
            return item
    return None
