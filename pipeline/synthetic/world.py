"""The simulated world: every entity in relative seconds, and its versions as tables."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.synthetic.columns import (
    _blank_unless,
    _bools,
    _fixed,
    _fmt_cents,
    _fmt_date,
    _fmt_ids,
    _fmt_int,
    _fmt_ts,
    _id_width,
    _labels,
    _put_digits,
    _put_text,
    _quote,
)
from pipeline.synthetic.vocabulary import (
    _CANCEL_REASONS,
    _CLAIM_FINAL,
    _INITIATORS,
    _NOTICE_SUBJECTS,
    _ORDER_STATUS,
    _REFUND_REASONS,
    _TRACKING_FORMAT,
    CARRIERS,
    CDC_LAG,
    DAY,
    LATE_SHARE,
    MARKETS,
    NEVER,
    PRODUCT_LINES,
    Progress,
)
from pipeline.synthetic.world_aftersale import AfterSaleMixin
from pipeline.synthetic.world_orders import OrdersMixin
from pipeline.synthetic.world_sellers import SellersMixin
from pipeline.synthetic.world_state import _Table

log = logging.getLogger(__name__)


# --- the simulated world -----------------------------------------------------------------------


class _World(SellersMixin, OrdersMixin, AfterSaleMixin):
    """All simulated entities, in relative seconds (0 = the first day's 00:00 UTC)."""

    def _table(
        self,
        name: str,
        rng: np.random.Generator,
        changes: list[tuple[np.ndarray, np.ndarray]],
        rank: np.ndarray,
        render: Callable[[np.ndarray, np.ndarray], list[pa.Array]],
        *,
        can_be_late: bool = True,
    ) -> _Table:
        """Versions from (entity, change time) lists: lag, cut at end_date, late share, sort."""
        entity = np.concatenate([e for e, _ in changes]).astype(np.int32)
        t = np.concatenate([c for _, c in changes]).astype(np.int64)
        keep = t <= self.end
        entity, t = entity[keep], t[keep]
        # A change in the last seconds of end_date is still extracted that day.
        lu = np.minimum(t + rng.integers(0, CDC_LAG + 1, t.size), self.end)
        del t
        day = lu // DAY
        late = np.zeros(lu.size, dtype=bool)
        if can_be_late:
            late = (rng.random(lu.size) < LATE_SHARE) & (day < self.days - 1)
        folder = np.where(late, np.minimum(day + rng.integers(1, 4, lu.size), self.days - 1), day)
        del day
        # Sort by (folder, last_updated_at, key). One int64 key sorts ~3x faster than lexsort;
        # (entity, last_updated_at) is unique, so no two rows tie.
        key_rank = rank[entity].astype(np.int64)
        bits_rank = max(1, int(key_rank.max(initial=0)).bit_length())
        bits_lu = max(1, int(self.end).bit_length())
        bits_folder = max(1, self.days.bit_length())
        if bits_rank + bits_lu + bits_folder <= 63:
            composite = (folder << (bits_lu + bits_rank)) | (lu << bits_rank) | key_rank
            order = np.argsort(composite)
            del composite
        else:
            order = np.lexsort((key_rank, lu, folder))
        del key_rank
        return _Table(
            name,
            entity[order],
            lu[order].astype(np.int32),
            folder[order].astype(np.int32),
            late[order],
            render,
        )

    def simulate(self, say: Progress) -> dict[str, _Table]:
        self._sellers()
        self._catalog()
        self._orders()
        say(f"simulated {self.n_orders:,} orders")
        self._feedback()
        self._claims_and_chargebacks()
        self._refunds()
        self._messages()
        self._notices()
        rng = self.rng(9)
        ts = self._ts

        # sellers: the first extract holds every seller registered by then; later ones appear on
        # their registration day; a changed email is a new version.
        s_all = np.arange(self.n)
        names = pa.array([_quote(x) for x in self.s_names], pa.string())
        emails = pa.array([_quote(x) for x in self.s_emails], pa.string())
        emails2 = pa.array([_quote(x) for x in self.s_emails2], pa.string())
        market_codes = [mk.code for mk in MARKETS]

        def sellers(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            changed = self.s_change_t[e] <= lu
            email = pc.if_else(
                pa.array(changed), emails2.take(pa.array(e)), emails.take(pa.array(e))
            )
            return [
                _fixed(self.s_ids[e]),
                names.take(pa.array(e)),
                email,
                _labels(self.s_market[e], market_codes),
                _fmt_date(self.epoch // DAY + self.s_reg_day[e]),
                ts(lu),
            ]

        def orders(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            status = np.select(
                [
                    self.o_cancel[e] <= lu,
                    self.o_delivered_known[e] <= lu,
                    self.o_ship[e] <= lu,
                    self.o_unshipped[e] <= lu,
                ],
                [4, 3, 2, 1],
                0,
            )
            afn = self.o_afn[e]
            # As in marketplace reports, a cancelled line shows quantity 0 and no price.
            live = status != 4
            return [
                _fixed(self.o_ids[e]),
                _fixed(self.s_ids[self.o_seller[e]]),
                ts(self.o_purchased[e]),
                ts(lu),
                _labels(status, _ORDER_STATUS),
                _labels(afn.astype(np.int64), ("MFN", "AFN")),
                _labels(self.k_line[self.o_sku[e]], [p[0] for p in PRODUCT_LINES]),
                _fixed(self.k_text[self.o_sku[e]]),
                _fmt_int(np.where(live, self.o_qty[e], 0)),
                _blank_unless(live, _fmt_cents(self.k_cents[self.o_sku[e]])),
                _blank_unless(live, _labels(self.o_market[e], [mk.currency for mk in MARKETS])),
                _blank_unless(~afn, _fmt_date(self.epoch // DAY + self.o_lsd[e])),
                _blank_unless(~afn, _fmt_date(self.epoch // DAY + self.o_ldd[e])),
            ]

        def shipments(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            scan_known = self.o_scan[e] <= lu
            delivered = self.o_delivered_known[e] <= lu
            return [
                _fixed(self.o_ids[e]),
                ts(self.o_ship[e]),
                _labels(self.o_carrier[e], CARRIERS),
                _blank_unless(~self.o_no_tracking[e], self._tracking(e)),
                _blank_unless(scan_known, ts(np.where(scan_known, self.o_scan[e], 0))),
                _blank_unless(delivered, ts(np.where(delivered, self.o_delivered_known[e], 0))),
                ts(lu),
            ]

        def cancellations(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            initiator = self.o_initiator[e]
            reasons = [r for who in _INITIATORS for r in _CANCEL_REASONS[who]]
            starts = np.cumsum([0] + [len(_CANCEL_REASONS[w]) for w in _INITIATORS])[:-1]
            lengths = np.array([len(_CANCEL_REASONS[w]) for w in _INITIATORS])
            # Reason picked from the order's random tracking seed: stable across versions.
            pick = self.o_tracking_seed[e] % 1000
            reason = starts[initiator] + pick % lengths[initiator]
            reason = np.where(pick < 120, -1, reason)  # the reason is optional
            return [
                _fixed(self.o_ids[e]),
                ts(self.o_cancel[e]),
                _labels(initiator, ("buyer", "seller", "marketplace")),
                _labels(reason, reasons),
                ts(lu),
            ]

        r_width = _id_width(self.r_order.size)

        def refunds(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            return [
                _fmt_ids("RF", e + 1, r_width),
                _fixed(self.o_ids[self.r_order[e]]),
                ts(self.r_at[e]),
                _fmt_cents(self.r_amount[e]),
                _labels(self.r_reason[e], _REFUND_REASONS),
                ts(lu),
            ]

        def feedback(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            rating = np.where(self.f_change_t[e] <= lu, self.f_new_rating[e], self.f_rating[e])
            return [
                _fixed(self.o_ids[self.f_order[e]]),
                ts(self.f_left[e]),
                _fmt_int(rating),
                _labels(self.f_comment[e], self.f_comment_labels),
                _bools(self.f_removed_t[e] <= lu),
                ts(lu),
            ]

        c_width = _id_width(self.c_order.size)

        def claims(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            status = np.where(self.c_resolved[e] <= lu, self.c_final[e] + 1, 0)
            return [
                _fmt_ids("AZ", e + 1, c_width),
                _fixed(self.o_ids[self.c_order[e]]),
                ts(self.c_filed[e]),
                _labels(status, ("open", *_CLAIM_FINAL)),
                ts(lu),
            ]

        b_width = _id_width(self.b_order.size)

        def chargebacks(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            status = np.where(self.b_resolved[e] <= lu, np.where(self.b_upheld[e], 1, 2), 0)
            return [
                _fmt_ids("CB", e + 1, b_width),
                _fixed(self.o_ids[self.b_order[e]]),
                ts(self.b_filed[e]),
                _labels(self.b_kind[e], ("service", "fraud")),
                _labels(status, ("open", "upheld", "reversed")),
                ts(lu),
            ]

        m_width = _id_width(self.m_received.size)
        t_width = _id_width(self.m_threads)

        def messages(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            answered = self.m_response[e] <= lu
            order = self.m_order[e]
            return [
                _fmt_ids("MSG", e + 1, m_width),
                _fmt_ids("THR", self.m_thread[e] + 1, t_width),
                _fixed(self.s_ids[self.m_seller[e]]),
                _blank_unless(order >= 0, _fixed(self.o_ids[np.maximum(order, 0)])),
                ts(self.m_received[e]),
                _blank_unless(answered, ts(np.where(answered, self.m_response[e], 0))),
                _bools(self.m_no_response[e]),
                _labels(
                    np.where(self.m_verdict_t[e] <= lu, self.m_verdict[e], -1),
                    ("solved", "not_solved"),
                ),
                ts(lu),
            ]

        n_width = _id_width(self.n_issued.size)

        def notices(e: np.ndarray, lu: np.ndarray) -> list[pa.Array]:
            read = self.n_read[e] <= lu
            resolved = self.n_resolved[e] <= lu
            return [
                _fmt_ids("NTC", e + 1, n_width),
                _fixed(self.s_ids[self.n_seller[e]]),
                ts(self.n_issued[e]),
                _labels(self.n_category[e], list(_NOTICE_SUBJECTS)),
                _labels(self.n_severity[e], ("low", "medium", "high", "critical")),
                self.n_subject.take(pa.array(e)),
                _blank_unless(read, ts(np.where(read, self.n_read[e], 0))),
                _blank_unless(resolved, ts(np.where(resolved, self.n_resolved[e], 0))),
                ts(lu),
            ]

        o_all = np.arange(self.n_orders)
        shipped = np.flatnonzero(self.o_ship < NEVER)
        later_scan = shipped[self.o_scan[shipped] > self.o_ship[shipped]]
        cancelled = np.flatnonzero(self.o_cancel < NEVER)
        pending = np.flatnonzero(self.o_pending)
        f_all = np.arange(self.f_order.size)
        c_all = np.arange(self.c_order.size)
        b_all = np.arange(self.b_order.size)
        m_all = np.arange(self.m_received.size)
        m_verdict = np.flatnonzero(self.m_verdict >= 0)
        n_all = np.arange(self.n_issued.size)
        r_all = np.arange(self.r_order.size)
        tables = [
            self._table(
                "sellers",
                rng,
                [(s_all, self.s_reg_t), (s_all, self.s_change_t)],
                s_all,
                sellers,
                can_be_late=False,
            ),
            self._table(
                "orders",
                rng,
                [
                    (o_all, self.o_purchased),
                    (pending, self.o_unshipped[pending]),
                    (o_all, self.o_ship),
                    (o_all, self.o_delivered_known),
                    (cancelled, self.o_cancel[cancelled]),
                ],
                self.o_rank,
                orders,
            ),
            self._table(
                "shipments",
                rng,
                [
                    (shipped, self.o_ship[shipped]),
                    (later_scan, self.o_scan[later_scan]),
                    (shipped, self.o_delivered_known[shipped]),
                ],
                self.o_rank,
                shipments,
            ),
            self._table(
                "cancellations",
                rng,
                [(cancelled, self.o_cancel[cancelled])],
                self.o_rank,
                cancellations,
            ),
            self._table("refunds", rng, [(r_all, self.r_at)], r_all, refunds),
            self._table(
                "feedback",
                rng,
                [
                    (f_all, self.f_left),
                    (f_all, self.f_change_t),
                    (f_all, self.f_removed_t),
                ],
                self.o_rank[self.f_order],
                feedback,
            ),
            self._table(
                "claims", rng, [(c_all, self.c_filed), (c_all, self.c_resolved)], c_all, claims
            ),
            self._table(
                "chargebacks",
                rng,
                [(b_all, self.b_filed), (b_all, self.b_resolved)],
                b_all,
                chargebacks,
            ),
            self._table(
                "messages",
                rng,
                [
                    (m_all, self.m_received),
                    (m_all, self.m_response),
                    (m_verdict, self.m_verdict_t[m_verdict]),
                ],
                m_all,
                messages,
            ),
            self._table(
                "notices",
                rng,
                [
                    (n_all, self.n_issued),
                    (n_all, self.n_read),
                    (n_all, self.n_resolved),
                ],
                n_all,
                notices,
            ),
        ]
        return {t.name: t for t in tables}

    def _ts(self, relative: np.ndarray) -> pa.Array:
        return _fmt_ts(np.asarray(relative, dtype=np.int64) + self.epoch)

    def _tracking(self, e: np.ndarray) -> pa.Array:
        """Tracking numbers in each carrier's shape, derived from a per-order random seed."""
        carrier = self.o_carrier[e]
        seed = self.o_tracking_seed[e]
        parts, where = [], []
        for ci, name in enumerate(CARRIERS):
            sel = np.flatnonzero(carrier == ci)
            if not sel.size:
                continue
            prefix, width, suffix = _TRACKING_FORMAT[name]
            buf = np.empty((sel.size, len(prefix) + width + len(suffix)), dtype=np.uint8)
            if prefix:
                _put_text(buf, 0, prefix)
            # Up to 18 digits from the seed; longer numbers repeat its low digits.
            digits = seed[sel]
            if width > 18:
                _put_digits(buf, len(prefix), digits % 10 ** (width - 18), width - 18)
                _put_digits(buf, len(prefix) + width - 18, digits, 18)
            else:
                _put_digits(buf, len(prefix), digits % 10**width, width)
            if suffix:
                _put_text(buf, len(prefix) + width, suffix)
            parts.append(_fixed(buf))
            where.append(sel)
        if not parts:
            return pa.array([], pa.string())
        combined = pa.concat_arrays(parts)
        inverse = np.empty(e.size, dtype=np.int64)
        inverse[np.concatenate(where)] = np.arange(e.size)
        return combined.take(pa.array(inverse))
