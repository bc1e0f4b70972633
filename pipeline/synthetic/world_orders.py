"""The simulated orders and their fulfilment (a part of `_World`)."""

from __future__ import annotations

import logging

import numpy as np

from pipeline.synthetic.columns import _id_width, _put_digits
from pipeline.synthetic.vocabulary import (
    _HOUR_WEIGHTS,
    CARRIERS,
    DAY,
    HOUR,
    MARKETS,
    MIN_GAP,
    MINUTE,
    NEVER,
)
from pipeline.synthetic.world_state import WorldState, _gap

log = logging.getLogger(__name__)


class OrdersMixin(WorldState):
    """Orders, shipments and cancellations."""

    def _orders(self) -> None:
        rng = self.rng(3)
        n, days = self.n, self.days
        factor, weekday = self._calendar()
        lam = self.s_volume[None, :] * factor[:, None]
        lam = np.where(np.arange(days)[:, None] >= self.s_first_day[None, :], lam, 0.0)
        counts = rng.poisson(lam).ravel()
        seller = np.repeat(np.tile(np.arange(n, dtype=np.int32), days), counts)
        day = np.repeat(np.repeat(np.arange(days, dtype=np.int32), n), counts)
        size = seller.size
        market = self.s_market[seller]
        offset = np.array([mk.utc_offset for mk in MARKETS])[market]
        hour = (rng.choice(24, size=size, p=_HOUR_WEIGHTS) - offset) % 24
        purchased = day.astype(np.int64) * DAY + hour * HOUR + rng.integers(0, HOUR, size)
        # Order ids increase with purchase time, as a marketplace's would.
        order = np.lexsort((seller, purchased))
        seller, day, market, purchased = seller[order], day[order], market[order], purchased[order]
        del order

        afn = rng.random(size) < self.s_afn[seller]
        mfn = ~afn
        sku = np.searchsorted(self.k_cum, seller + rng.random(size), side="right").astype(np.int32)
        r = rng.random(size)
        qty = (1 + (r > 0.75) + (r > 0.93)).astype(np.int8)
        # Promise dates: purchase + handling (1-3 days); + transit of the marketplace (2-7 days).
        lsd = day + self.s_handling[seller] + (rng.random(size) < 0.1)
        lo = np.array([mk.transit[0] for mk in MARKETS])[market]
        hi = np.array([mk.transit[1] for mk in MARKETS])[market]
        ldd = lsd + lo + np.floor(rng.random(size) * (hi - lo + 1)).astype(np.int64)

        # Payment: a quarter start `pending` and become `unshipped` minutes to hours later.
        pending = rng.random(size) < 0.25
        unshipped = np.where(
            pending,
            purchased
            + MIN_GAP
            + np.minimum(rng.exponential(40 * MINUTE, size), 4 * HOUR).astype(np.int64),
            purchased,
        )

        # Ship confirmation. MFN: a day up to the latest ship date (early days likelier); late
        # shippers miss it by 1-4 days, more often for weekend orders; a few never confirm.
        never = mfn & (rng.random(size) < self._param("never_confirm", seller, day))
        late_mult = np.where(weekday[day] >= 4, 1.6, 0.85)
        late = mfn & ~never & (rng.random(size) < self._param("late_ship", seller, day) * late_mult)
        span = lsd - day
        ship_day = day + np.floor((span + 1) * rng.random(size) ** 1.8).astype(np.int64)
        ship_day = np.where(late, lsd + rng.integers(1, 5, size), ship_day)
        ship = ship_day * DAY + _gap(rng, size, 9 * HOUR, 21 * HOUR)
        ship = np.maximum(ship, unshipped + 2 * MIN_GAP + rng.integers(0, 3 * HOUR, size))
        # AFN: the marketplace ships within hours.
        afn_ship = unshipped + 2 * MIN_GAP + rng.gamma(2.0, 5 * HOUR, size).astype(np.int64)
        ship = np.where(afn, afn_ship, ship)
        ship = np.where(never, NEVER, ship)

        # Cancellations, before shipping: buyers early, sellers (out of stock) later.
        p_buyer = self._param("cancel_buyer", seller, day)
        p_seller = np.where(mfn, self._param("cancel_seller", seller, day), 0.0)
        r = rng.random(size)
        initiator = np.full(size, -1, dtype=np.int8)
        initiator[r < p_buyer + p_seller + 0.0008] = 2
        initiator[r < p_buyer + p_seller] = 1
        initiator[r < p_buyer] = 0
        cancelled = initiator >= 0
        limit = np.where(ship < NEVER, ship, (lsd + 1) * DAY)
        shape = np.where(initiator == 1, rng.random(size) ** 0.5, rng.random(size) ** 2)
        cancel = unshipped + MIN_GAP + (shape * (limit - unshipped - 2 * MIN_GAP)).astype(np.int64)
        cancel = np.where(cancelled, cancel, NEVER)
        ship = np.where(cancelled, NEVER, ship)
        shipped = ship < NEVER

        # Tracking: some MFN shipments have no tracking id, some never get a carrier scan.
        no_tracking = shipped & mfn & (rng.random(size) < self._param("no_tracking", seller, day))
        no_scan = (
            shipped & mfn & ~no_tracking & (rng.random(size) < self._param("no_scan", seller, day))
        )
        scanned = shipped & ~no_tracking & ~no_scan
        # Some parcels are scanned before the seller confirms the shipment.
        early = scanned & mfn & (rng.random(size) < 0.15)
        room = np.clip(np.where(shipped, ship - unshipped, 0) - 3 * MIN_GAP, 0, 8 * HOUR)
        scan = np.where(
            early,
            ship - MIN_GAP - (rng.random(size) * room).astype(np.int64),
            ship + 2 * MIN_GAP + rng.gamma(2.0, 3 * HOUR, size).astype(np.int64),
        )
        scan = np.where(scanned, scan, NEVER)

        # Delivery (the true one; the marketplace only learns it through a scanned tracking).
        ship_d = np.where(shipped, ship // DAY, 0)
        late_delivery = mfn & (rng.random(size) < self._param("late_delivery", seller, day))
        first_ok = ship_d + 1
        last_ok = np.maximum(ldd, first_ok)
        del_day = first_ok + np.floor(rng.random(size) * (last_ok - first_ok + 1)).astype(np.int64)
        del_day = np.where(
            late_delivery, np.maximum(ldd + 1, first_ok) + rng.integers(0, 4, size), del_day
        )
        del_day = np.where(afn, ship_d + 1 + rng.integers(0, 3, size), del_day)
        delivered = del_day * DAY + _gap(rng, size, 9 * HOUR, 20 * HOUR)
        delivered = np.maximum(delivered, np.where(scanned, scan, ship) + 2 * HOUR)
        lost = rng.random(size) < 0.002
        delivered = np.where(shipped & ~lost, delivered, NEVER)
        delivered_known = np.where(scanned, delivered, NEVER)

        carrier_parts = np.empty(size, dtype=np.int8)
        for mi, mk in enumerate(MARKETS):
            mask = market == mi
            pick = rng.choice(len(mk.carriers), size=int(mask.sum()), p=mk.carrier_weights)
            carrier_parts[mask] = np.array([CARRIERS.index(c) for c in mk.carriers])[pick]
        tracking_seed = rng.integers(0, 10**18, size, dtype=np.int64)

        self.n_orders = size
        self.o_seller, self.o_day, self.o_market, self.o_purchased = seller, day, market, purchased
        self.o_afn, self.o_sku, self.o_qty = afn, sku, qty
        self.o_cents = self.k_cents[sku] * qty
        self.o_lsd, self.o_ldd = lsd, ldd
        self.o_pending, self.o_unshipped = pending, unshipped
        self.o_ship, self.o_cancel, self.o_initiator = ship, cancel, initiator
        self.o_scan, self.o_delivered, self.o_delivered_known = scan, delivered, delivered_known
        self.o_no_tracking, self.o_carrier, self.o_tracking_seed = (
            no_tracking,
            carrier_parts,
            tracking_seed,
        )
        self.o_late_ship = late
        self.o_late_delivery = mfn & (delivered < NEVER) & (delivered // DAY > ldd)
        # Order ids: "113-0000042-8371625": marketplace block, sequence, random block.
        self.o_width = _id_width(size)
        buf = np.empty((size, 3 + 1 + self.o_width + 1 + 7), dtype=np.uint8)
        prefix = np.array([[ord(c) for c in mk.order_prefix] for mk in MARKETS], dtype=np.uint8)
        buf[:, 0:3] = prefix[market]
        buf[:, 3] = buf[:, 4 + self.o_width] = ord("-")
        _put_digits(buf, 4, np.arange(size), self.o_width)
        _put_digits(buf, 5 + self.o_width, rng.integers(0, 10**7, size), 7)
        self.o_ids = buf
        # String order of the ids = (marketplace block, sequence).
        self.o_rank = market.astype(np.int64) * size + np.arange(size)

    # .. events after the order ....................................................................
