"""A straightforward pandas implementation of the seller metrics of SPEC §3.2-3.3.

Written from the spec, not from the SQL, for the engine benchmark: it reads the raw
versions, keeps the one in effect at the as-of date (greatest last_updated_at, then the
later folder, then the later record), evaluates every order and message as §3.2 says,
and counts every metric row (metric x channel x window) per seller. The benchmark checks
that its numerators and denominators equal marts.seller_metrics, and times both.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

# (metric, channel, window days, lag days): SPEC §3.3's table.
WINDOWS = [
    *[("order_defect_rate", ch, n, 14) for ch in ("all", "MFN", "AFN") for n in (30, 60, 90)],
    *[
        (m, ch, 60, 14)
        for m in ("negative_feedback_rate", "claim_rate", "chargeback_rate")
        for ch in ("all", "MFN", "AFN")
    ],
    ("cancellation_rate", "MFN", 7, 0),
    ("late_shipment_rate", "MFN", 10, 0),
    ("late_shipment_rate", "MFN", 30, 0),
    ("valid_tracking_rate", "MFN", 30, 0),
    ("on_time_delivery_rate", "MFN", 14, 7),
    ("unit_on_time_delivery_rate", "MFN", 14, 7),
    ("refund_rate", "all", 30, 0),
    ("contact_response_rate", "all", 7, 0),
    ("contact_response_rate", "all", 30, 0),
    ("contact_response_rate", "all", 90, 0),
    ("customer_service_dissatisfaction_rate", "all", 60, 0),
    ("avg_response_hours", "all", 30, 0),
    ("first_contact_resolution_rate", "all", 56, 0),
    ("perfect_order_rate", "all", 90, 0),
    ("feedback_positive_rate", "all", 365, 0),
    ("policy_notices", "all", 180, 0),
]

KEYS = {
    "sellers": "seller_id",
    "orders": "order_id",
    "shipments": "order_id",
    "cancellations": "order_id",
    "refunds": "refund_id",
    "feedback": "order_id",
    "claims": "claim_id",
    "chargebacks": "chargeback_id",
    "messages": "message_id",
    "notices": "notice_id",
}


def in_effect(con: duckdb.DuckDBPyConnection, dataset: str, as_of: date) -> pd.DataFrame:
    """The version of every record in effect at the end of `as_of` (SPEC §3.1)."""
    df = con.execute(f"select * from raw.{dataset} where _load_date <= ?", [as_of]).df()
    df = df.sort_values([KEYS[dataset], "last_updated_at", "_load_date", "_line"])
    return df.drop_duplicates(KEYS[dataset], keep="last").reset_index(drop=True)


def seller_metrics(warehouse: str, as_of: date) -> pd.DataFrame:
    """seller_id, metric, channel, window_days, numerator, denominator for `as_of`."""
    con = duckdb.connect(warehouse, read_only=True)
    try:
        t = {name: in_effect(con, name, as_of) for name in KEYS}
    finally:
        con.close()
    d = pd.Timestamp(as_of)
    orders = t["orders"]
    orders["purchase_date"] = orders["purchased_at"].dt.normalize()

    fb = t["feedback"].set_index("order_id")
    negative = fb[(fb["rating"] <= 2) & ~fb["removed"]]
    claims = t["claims"]
    counting_claims = claims[~claims["status"].isin(["denied", "withdrawn", "marketplace_funded"])]
    cb = t["chargebacks"]
    service_cb = cb[(cb["kind"] == "service") & (cb["status"] != "reversed")]
    cancels = t["cancellations"].set_index("order_id")
    ships = t["shipments"].set_index("order_id")
    refunded = set(t["refunds"]["order_id"])
    contacted = set(t["messages"]["order_id"].dropna())

    o = orders.set_index("order_id")
    o["neg"] = o.index.isin(negative.index)
    o["claim"] = o.index.isin(counting_claims["order_id"])
    o["cb"] = o.index.isin(service_cb["order_id"])
    o["defective"] = o["neg"] | o["claim"] | o["cb"]
    o["cancelled"] = o.index.isin(cancels.index)
    o["seller_cancelled"] = (
        o.index.map(cancels["initiated_by"]).to_series(index=o.index).eq("seller")
    )
    confirmed_at = o.index.map(ships["ship_confirmed_at"]).to_series(index=o.index)
    o["confirmed"] = o.index.isin(ships.index)
    lsd = pd.to_datetime(o["latest_ship_date"])
    ldd = pd.to_datetime(o["latest_delivery_date"])
    mfn = o["fulfillment_channel"] == "MFN"
    o["late"] = (
        mfn
        & ~o["cancelled"]
        & ((confirmed_at.dt.normalize() > lsd) | (~o["confirmed"] & (lsd < d)))
    ).fillna(False)
    tracking = o.index.map(ships["tracking_id"]).to_series(index=o.index)
    scan = o.index.map(ships["first_scan_at"]).to_series(index=o.index)
    delivered = o.index.map(ships["delivered_at"]).to_series(index=o.index)
    o["valid_tracking"] = (
        mfn & o["confirmed"] & tracking.fillna("").str.strip().ne("") & scan.notna()
    )
    o["on_time"] = o["valid_tracking"] & delivered.notna() & (delivered.dt.normalize() <= ldd)
    o["refunded"] = o.index.isin(refunded)
    o["contact"] = o.index.isin(contacted)
    o["perfect"] = ~(
        o["neg"] | o["claim"] | o["cb"] | o["cancelled"] | o["late"] | o["refunded"] | o["contact"]
    )

    msgs = t["messages"]
    answered = msgs["first_response_at"].notna()
    msgs["due"] = ~msgs["no_response_needed"] & ~(~answered & (msgs["received_at"] > d))
    msgs["in_time"] = msgs["due"] & (
        (msgs["first_response_at"] - msgs["received_at"]) <= pd.Timedelta(hours=24)
    )
    msgs["answered_counted"] = answered & ~msgs["no_response_needed"]
    msgs["has_verdict"] = msgs["buyer_verdict"].notna()
    msgs["not_solved"] = msgs["buyer_verdict"] == "not_solved"
    msgs["seconds"] = (msgs["first_response_at"] - msgs["received_at"]).dt.total_seconds().fillna(0)
    msgs["received_date"] = msgs["received_at"].dt.normalize()
    threads = msgs.groupby("thread_id").agg(
        seller_id=("seller_id", "min"),
        first=("received_at", "min"),
        n=("message_id", "count"),
    )
    threads["first_date"] = threads["first"].dt.normalize()

    feedback = fb.join(o[["seller_id"]], how="inner")
    feedback["feedback_date"] = feedback["left_at"].dt.normalize()
    notices = t["notices"]
    notices["issued_date"] = notices["issued_at"].dt.normalize()

    def window(frame: pd.DataFrame, key: str, n: int, lag: int) -> pd.DataFrame:
        start, end = d - pd.Timedelta(days=lag + n - 1), d - pd.Timedelta(days=lag)
        return frame[(frame[key] >= start) & (frame[key] <= end)]

    rows = []

    def add(metric, channel, n, frame, numerator, denominator=None):
        g = frame.groupby("seller_id")
        num = g[numerator].sum() if numerator else g.size()
        den = g[denominator].sum() if denominator is not None else None
        for seller in num.index:
            rows.append(
                (
                    seller,
                    metric,
                    channel,
                    n,
                    float(num[seller]),
                    None if den is None else int(den[seller]),
                )
            )

    o["one"] = 1
    msgs["one"] = 1
    threads["one"] = 1
    feedback["one"] = 1
    feedback["counted"] = ~feedback["removed"]
    feedback["positive"] = feedback["counted"] & (feedback["rating"] >= 4)
    threads["single"] = threads["n"] == 1
    lsd_frame = o.assign(key=lsd)
    ldd_frame = o.assign(key=ldd)
    for metric, channel, n, lag in WINDOWS:
        by_channel = o if channel == "all" else o[o["fulfillment_channel"] == channel]
        purchase = window(by_channel.assign(key=by_channel["purchase_date"]), "key", n, lag)
        if metric == "order_defect_rate":
            add(metric, channel, n, purchase, "defective", "one")
        elif metric == "negative_feedback_rate":
            add(metric, channel, n, purchase, "neg", "one")
        elif metric == "claim_rate":
            add(metric, channel, n, purchase, "claim", "one")
        elif metric == "chargeback_rate":
            add(metric, channel, n, purchase, "cb", "one")
        elif metric == "cancellation_rate":
            add(metric, channel, n, purchase, "seller_cancelled", "one")
        elif metric == "refund_rate":
            add(metric, channel, n, purchase, "refunded", "one")
        elif metric == "perfect_order_rate":
            add(metric, channel, n, purchase, "perfect", "one")
        elif metric == "late_shipment_rate":
            f = window(lsd_frame[mfn & ~o["cancelled"]], "key", n, lag)
            add(metric, channel, n, f, "late", "one")
        elif metric == "valid_tracking_rate":
            f = window(ldd_frame[mfn & o["confirmed"]], "key", n, lag)
            add(metric, channel, n, f, "valid_tracking", "one")
        elif metric == "on_time_delivery_rate":
            f = window(ldd_frame[o["valid_tracking"]], "key", n, lag)
            add(metric, channel, n, f, "on_time", "one")
        elif metric == "unit_on_time_delivery_rate":
            f = window(ldd_frame[o["valid_tracking"]], "key", n, lag)
            add(
                metric,
                channel,
                n,
                f.assign(units_on_time=f["quantity"] * f["on_time"]),
                "units_on_time",
                "quantity",
            )
        elif metric == "customer_service_dissatisfaction_rate":
            f = window(msgs, "received_date", n, lag)
            add(metric, channel, n, f, "not_solved", "has_verdict")
        elif metric == "contact_response_rate":
            f = window(msgs, "received_date", n, lag)
            add(metric, channel, n, f, "in_time", "due")
        elif metric == "avg_response_hours":
            f = window(msgs[msgs["answered_counted"]], "received_date", n, lag)
            g = f.groupby("seller_id")
            for seller, seconds in g["seconds"].sum().items():
                rows.append((seller, metric, channel, n, seconds / 3600, int(g.size()[seller])))
        elif metric == "first_contact_resolution_rate":
            f = window(threads, "first_date", n, lag)
            add(metric, channel, n, f, "single", "one")
        elif metric == "feedback_positive_rate":
            f = window(feedback, "feedback_date", n, lag)
            add(metric, channel, n, f, "positive", "counted")
        elif metric == "policy_notices":
            f = window(notices, "issued_date", n, lag)
            add(metric, channel, n, f, None)
    return pd.DataFrame(
        rows,
        columns=["seller_id", "metric", "channel", "window_days", "numerator", "denominator"],
    )


def compare(warehouse: str, as_of: date, computed: pd.DataFrame) -> int:
    """Rows where pandas and marts.seller_metrics disagree (rows with data only)."""
    con = duckdb.connect(warehouse, read_only=True)
    try:
        marts = con.execute(
            "select seller_id, metric, channel, window_days, numerator, denominator "
            "from marts.seller_metrics where as_of_date = ? "
            "and (numerator <> 0 or coalesce(denominator, 0) <> 0)",
            [as_of],
        ).df()
    finally:
        con.close()
    keys = ["seller_id", "metric", "channel", "window_days"]
    computed = computed[(computed["numerator"] != 0) | (computed["denominator"].fillna(0) != 0)]
    both = marts.merge(computed, on=keys, how="outer", suffixes=("_sql", "_pd"), indicator=True)
    numerator_differs = ~np.isclose(
        both["numerator_sql"].astype(float), both["numerator_pd"].astype(float), rtol=1e-12
    )
    denominator_differs = both["denominator_sql"].fillna(-1) != both["denominator_pd"].fillna(-1)
    bad = both[(both["_merge"] != "both") | numerator_differs | denominator_differs]
    return len(bad)


if __name__ == "__main__":
    import sys
    import time

    warehouse, day = sys.argv[1], date.fromisoformat(sys.argv[2])
    started = time.perf_counter()
    result = seller_metrics(warehouse, day)
    print(f"pandas: {len(result)} rows in {time.perf_counter() - started:.1f}s")
    print(f"rows that differ from marts.seller_metrics: {compare(warehouse, day, result)}")
