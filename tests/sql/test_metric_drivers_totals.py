"""marts.metric_drivers: a value's share is of all the metric's bad events, including
those with no value in that dimension (found in review: shares were overstated).

As of 2026-11-22, seller S9 has three MFN orders purchased 2026-11-02 (ship by 11-04):
two shipped late with UPS on 11-06, one never shipped. Late shipment: 3 of 3, poor.
By carrier: UPS 2 late of 2 shipped; its share is 2 of the 3 late orders = 0.6667
(not 2 of 2: the unshipped order has no carrier but is still a late shipment).
"""

from __future__ import annotations

from datetime import date

from pipeline.ingest.load import load_day
from pipeline.models.build import build
from pipeline.warehouse import open_warehouse
from tests.extracts import empty_extracts, order, seller, shipment, write_day

D = date(2026, 11, 22)


def test_share_counts_bad_events_without_a_value(settings):
    day = empty_extracts()
    day["sellers"] = [seller("S9")]
    day["orders"] = [order(f"L{i}", "2026-11-02", seller_id="S9") for i in (1, 2, 3)]
    day["shipments"] = [shipment("L1", "2026-11-06"), shipment("L2", "2026-11-06")]
    write_day(settings.landing_dir, D, day)
    load_day(settings, D)
    build(settings, D)
    with open_warehouse(settings.warehouse, read_only=True) as con:
        rows = con.execute(
            "select dimension, value, bad_events, population, round(share_of_bad_events, 4) "
            "from marts.metric_drivers where metric = 'late_shipment_rate' "
            "and dimension in ('carrier', 'sku') order by dimension, rank"
        ).fetchall()
    assert rows == [("carrier", "UPS", 2, 2, 0.6667), ("sku", "SKU-1", 3, 3, 1.0)]
