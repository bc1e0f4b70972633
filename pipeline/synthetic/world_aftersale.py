"""After a sale: feedback, claims, chargebacks, refunds, messages and notices (a part of
`_World`)."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa

from pipeline.synthetic.columns import _quote
from pipeline.synthetic.vocabulary import (
    _CLAIM_FINAL,
    _CLAIM_FINAL_P,
    _COMMENTS_NEGATIVE,
    _COMMENTS_NEUTRAL,
    _COMMENTS_POSITIVE,
    _NEG_P,
    _NEG_RATINGS,
    _NOTICE_SUBJECTS,
    _OTHER_P,
    _OTHER_RATINGS,
    _REFUND_REASONS,
    DAY,
    HOUR,
    MIN_GAP,
    NEVER,
    PROFILES,
)
from pipeline.synthetic.world_state import WorldState, _gap

log = logging.getLogger(__name__)


class AfterSaleMixin(WorldState):
    """Feedback, A-to-z claims, chargebacks, refunds, buyer messages and policy notices."""

    def _feedback(self) -> None:
        rng = self.rng(4)
        size = self.n_orders
        seller, day = self.o_seller, self.o_day
        cancelled = self.o_cancel < NEVER
        has_delivery = self.o_delivered < NEVER
        undelivered = ~cancelled & ~has_delivery
        p_neg = (
            self._param("neg", seller, day)
            * self.k_quality[self.o_sku]
            * np.where(self.o_late_delivery, 3.0, 1.0)
            * np.where(self.o_late_ship, 2.0, 1.0)
        )
        # An order that never arrives angers its buyer.
        p_neg = np.where(undelivered, 0.2, np.where(cancelled, 0.0, np.minimum(p_neg, 0.8)))
        negative = rng.random(size) < p_neg
        other = ~negative & has_delivery & (rng.random(size) < self._param("fb_other", seller, day))
        idx = np.flatnonzero(negative | other)
        neg = negative[idx]
        m = idx.size
        base = np.where(
            has_delivery[idx],
            self.o_delivered[idx],
            np.where(
                self.o_afn[idx], self.o_purchased[idx] + 10 * DAY, (self.o_ldd[idx] + 3) * DAY
            ),
        )
        left = base + 2 * DAY + (rng.beta(1.3, 3.5, m) * 38 * DAY).astype(np.int64)
        rating = np.where(
            neg, rng.choice(_NEG_RATINGS, m, p=_NEG_P), rng.choice(_OTHER_RATINGS, m, p=_OTHER_P)
        )
        # Buyers sometimes revise a rating (up after a resolution, or down); the marketplace
        # removes some negative feedback (e.g. about AFN delivery) days later.
        changed = rng.random(m) < 0.04
        change_t = np.where(changed, left + DAY + _gap(rng, m, 0, 14 * DAY), NEVER)
        up = np.where(rng.random(m) < 0.7, rng.choice([4, 5], m), 3)
        new_rating = np.where(rating <= 2, up, rng.choice([1, 2], m))
        removed = rng.random(m) < np.where(neg, 0.12, 0.01)
        removed_t = left + DAY + _gap(rng, m, 0, 29 * DAY)
        removed_t = np.where(changed, np.maximum(removed_t, change_t + DAY), removed_t)
        removed_t = np.where(removed, removed_t, NEVER)
        # Comments: about half, from a pool matching the first rating.
        pools = (_COMMENTS_NEGATIVE, _COMMENTS_NEUTRAL, _COMMENTS_POSITIVE)
        starts = np.cumsum([0] + [len(p) for p in pools])[:-1]
        kind = np.where(rating <= 2, 0, np.where(rating == 3, 1, 2))
        lengths = np.array([len(p) for p in pools])
        comment = starts[kind] + np.floor(rng.random(m) * lengths[kind]).astype(np.int64)
        comment = np.where(rng.random(m) < 0.45, comment, -1)
        self.f_order, self.f_left, self.f_rating = idx, left, rating
        self.f_change_t, self.f_new_rating, self.f_removed_t = change_t, new_rating, removed_t
        self.f_comment = comment
        self.f_comment_labels = [c for p in pools for c in p]

    def _claims_and_chargebacks(self) -> None:
        rng = self.rng(5)
        size = self.n_orders
        seller, day = self.o_seller, self.o_day
        cancelled = self.o_cancel < NEVER
        undelivered = ~cancelled & (self.o_delivered == NEVER)
        p_claim = (
            self._param("claim", seller, day)
            * self.k_quality[self.o_sku]
            * np.where(undelivered, 8.0, 1.0)
            * np.where(self.o_late_delivery, 2.0, 1.0)
        )
        idx = np.flatnonzero(~cancelled & (rng.random(size) < np.minimum(p_claim, 0.5)))
        m = idx.size
        filed = self.o_purchased[idx] + 5 * DAY + _gap(rng, m, 0, 55 * DAY)
        final = rng.choice(len(_CLAIM_FINAL), m, p=_CLAIM_FINAL_P)
        resolved = filed + 2 * DAY + _gap(rng, m, 0, 23 * DAY)
        # Some claims stay open for months.
        resolved += np.where(rng.random(m) < 0.08, _gap(rng, m, 30 * DAY, 90 * DAY), 0)
        order = np.argsort(filed, kind="stable")
        self.c_order, self.c_filed = idx[order], filed[order]
        self.c_final, self.c_resolved = final[order], resolved[order]

        p_cb = self._param("chargeback", seller, day)
        idx = np.flatnonzero(~cancelled & (rng.random(size) < p_cb))
        m = idx.size
        filed = self.o_purchased[idx] + 7 * DAY + _gap(rng, m, 0, 38 * DAY)
        kind = (rng.random(m) < 0.4).astype(np.int8)  # 0 service, 1 fraud
        upheld = rng.random(m) < 0.55
        resolved = filed + 10 * DAY + _gap(rng, m, 0, 35 * DAY)
        order = np.argsort(filed, kind="stable")
        self.b_order, self.b_filed, self.b_kind = idx[order], filed[order], kind[order]
        self.b_upheld, self.b_resolved = upheld[order], resolved[order]

    def _refunds(self) -> None:
        rng = self.rng(6)
        size = self.n_orders
        p = self._param("refund", self.o_seller, self.o_day)
        idx = np.flatnonzero((self.o_delivered < NEVER) & (rng.random(size) < p))
        m = idx.size
        value = self.o_cents[idx]
        at = self.o_delivered[idx] + HOUR + (rng.beta(1.2, 3.0, m) * 30 * DAY).astype(np.int64)
        full = rng.random(m) < 0.65
        amount = np.where(full, value, np.maximum(1, (value * rng.uniform(0.15, 0.85, m))))
        amount = amount.astype(np.int64)
        reason = np.where(rng.random(m) < 0.7, rng.integers(0, len(_REFUND_REASONS), m), -1)
        # A few partial refunds are followed by a second one, never beyond the order value.
        rest = value - amount
        second = (~full) & (rest > 0) & (rng.random(m) < 0.1)
        j = np.flatnonzero(second)
        amount2 = np.maximum(1, (rest[j] * rng.uniform(0.2, 1.0, j.size)).astype(np.int64))
        at2 = at[j] + DAY + _gap(rng, j.size, 0, 14 * DAY)
        order_idx = np.concatenate([idx, idx[j]])
        at_all = np.concatenate([at, at2])
        amount_all = np.concatenate([amount, amount2])
        reason_all = np.concatenate([reason, np.full(j.size, 5)])
        order = np.argsort(at_all, kind="stable")
        self.r_order, self.r_at = order_idx[order], at_all[order]
        self.r_amount, self.r_reason = amount_all[order], reason_all[order]

    def _messages(self) -> None:
        rng = self.rng(7)
        n, days, size = self.n, self.days, self.n_orders
        # Threads about an order, starting minutes to weeks after the purchase ...
        with_order = np.flatnonzero(
            rng.random(size) < self._param("thread", self.o_seller, self.o_day)
        )
        start_o = (
            self.o_purchased[with_order]
            + 2 * MIN_GAP
            + np.minimum(rng.exponential(3 * DAY, with_order.size), 30 * DAY).astype(np.int64)
        )
        # ... and general questions without an order.
        lam = (0.03 * self.s_volume + 0.05)[None, :] * np.ones((days, 1))
        lam = np.where(np.arange(days)[:, None] >= self.s_first_day[None, :], lam, 0.0)
        counts = rng.poisson(lam).ravel()
        free_seller = np.repeat(np.tile(np.arange(n), days), counts)
        free_day = np.repeat(np.repeat(np.arange(days, dtype=np.int64), n), counts)
        start_f = free_day * DAY + rng.integers(0, DAY, free_seller.size)

        t_seller = np.concatenate([self.o_seller[with_order], free_seller]).astype(np.int32)
        t_order = np.concatenate([with_order, np.full(free_seller.size, -1)])
        t_start = np.concatenate([start_o, start_f])
        order = np.lexsort((t_order, t_seller, t_start))
        t_seller, t_order, t_start = t_seller[order], t_order[order], t_start[order]
        n_threads = t_start.size

        msgs = rng.choice([1, 2, 3], n_threads, p=[0.6, 0.28, 0.12])
        thread = np.repeat(np.arange(n_threads), msgs)
        first = np.cumsum(msgs) - msgs  # each thread's first message (none: empty)
        pos = np.arange(thread.size) - np.repeat(first, msgs)
        gap = np.where(pos == 0, 0, _gap(rng, thread.size, 2 * HOUR, 72 * HOUR))
        # Running sum of gaps within the thread.
        csum = np.cumsum(gap)
        received = t_start[thread] + csum - np.repeat(csum[first], msgs)
        m = received.size
        seller = t_seller[thread]
        rday = np.minimum(received // DAY, days - 1)
        no_response = rng.random(m) < np.where(pos == 0, 0.06, 0.3)
        median = self._param("resp_median_h", seller, rday)
        sigma = self._param("resp_sigma", seller, rday)
        delay = np.maximum(MIN_GAP, median * HOUR * rng.lognormal(0.0, sigma)).astype(np.int64)
        never = rng.random(m) < self._param("no_reply", seller, rday)
        answered = np.where(no_response, rng.random(m) < 0.1, ~never)
        response = np.where(answered, received + delay, NEVER)
        order = np.lexsort((thread, received))
        self.m_thread, self.m_received = thread[order], received[order]
        self.m_seller, self.m_order = seller[order], t_order[thread][order]
        self.m_no_response, self.m_response = no_response[order], response[order]
        self.m_threads = n_threads
        self._verdicts()

    def _verdicts(self) -> None:
        """The buyer's verdict on a reply ("did this solve your problem?"): given for some
        answered messages, 1 to 5 days after the reply, as a later version of the message.
        Most sellers' replies satisfy; a slow responder's, while its problem lasts, often
        do not. Its own random stream: the other draws stay as they were."""
        rng = self.rng(10)
        n, m = self.n, self.m_received.size
        seller = self.m_seller
        rday = np.minimum(self.m_received // DAY, self.days - 1)
        base = rng.uniform(0.03, 0.15, n)
        problem = rng.uniform(0.45, 0.75, n)
        slow = self.s_profile[seller] == PROFILES.index("slow_responder")
        active = slow & (rday >= self.s_onset[seller]) & (rday < self.s_recover[seller])
        not_solved = rng.random(m) < np.where(active, problem[seller], base[seller])
        replied = (self.m_response < NEVER) & ~self.m_no_response
        given = replied & (rng.random(m) < 0.4)
        self.m_verdict = np.where(given, not_solved.astype(np.int64), -1)  # 0 solved, 1 not
        self.m_verdict_t = np.where(given, self.m_response + DAY + _gap(rng, m, 0, 4 * DAY), NEVER)

    def _notices(self) -> None:
        rng = self.rng(8)
        n, days = self.n, self.days
        day_idx = np.arange(days)[:, None]
        active = (day_idx >= self.s_onset[None, :]) & (day_idx < self.s_recover[None, :])
        rate = np.where(
            active, self.s_problem["notice_rate"][None, :], self.s_base["notice_rate"][None, :]
        )
        rate = np.where(day_idx >= self.s_first_day[None, :], rate, 0.0)
        counts = rng.poisson(rate).ravel()
        seller = np.repeat(np.tile(np.arange(n), days), counts)
        day = np.repeat(np.repeat(np.arange(days, dtype=np.int64), n), counts)
        m = seller.size
        issued = day * DAY + _gap(rng, m, 6 * HOUR, 22 * HOUR)
        heavy = self.s_profile[seller] == PROFILES.index("notice_heavy")
        categories = list(_NOTICE_SUBJECTS)
        cat_p = np.array([0.12, 0.1, 0.08, 0.1, 0.08, 0.08, 0.3, 0.14])
        category = np.where(
            heavy, rng.integers(0, len(categories), m), rng.choice(len(categories), m, p=cat_p)
        )
        severity = np.where(
            heavy,
            rng.choice(4, m, p=[0.2, 0.35, 0.27, 0.18]),
            rng.choice(4, m, p=[0.4, 0.35, 0.2, 0.05]),
        )
        unread = rng.random(m) < np.where(heavy, 0.35, 0.12)
        read = (
            issued
            + 2 * MIN_GAP
            + np.minimum(rng.lognormal(np.log(10 * HOUR), 1.5, m), 20 * DAY).astype(np.int64)
        )
        read = np.where(unread, NEVER, read)
        resolved = np.where(
            ~unread & (rng.random(m) < np.where(heavy, 0.4, 0.6)),
            read + HOUR + _gap(rng, m, 0, 20 * DAY),
            NEVER,
        )
        pick = rng.random((m, 2))
        subjects = []
        for i in range(m):  # a few per seller per quarter: a Python loop is fine here
            texts = _NOTICE_SUBJECTS[categories[category[i]]]
            s = int(seller[i])
            own = np.searchsorted(self.k_seller, [s, s + 1])
            sku = self.k_texts[own[0] + int(pick[i, 1] * (own[1] - own[0]))]
            subjects.append(_quote(texts[int(pick[i, 0] * len(texts))].format(sku=sku)))
        order = np.lexsort((seller, issued))
        self.n_seller, self.n_issued = seller[order], issued[order]
        self.n_category, self.n_severity = category[order], severity[order]
        self.n_read, self.n_resolved = read[order], resolved[order]
        self.n_subject = pa.array(subjects, pa.string()).take(pa.array(order))

    # .. versions and rendering ....................................................................
