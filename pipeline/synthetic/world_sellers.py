"""The simulated sellers and their catalogues (a part of `_World`)."""

from __future__ import annotations

import logging
import unicodedata

import numpy as np

from pipeline.synthetic.columns import _id_rows, _shop_name
from pipeline.synthetic.vocabulary import (
    _EMAIL_LOCAL,
    _ODD_NAMES,
    _PROBLEM_PROFILES,
    DAY,
    HOUR,
    MARKETS,
    MINUTE,
    NEVER,
    PRODUCT_LINES,
    PROFILES,
)
from pipeline.synthetic.world_state import WorldState, _gap

log = logging.getLogger(__name__)


class SellersMixin(WorldState):
    """Sellers, their names and e-mail addresses, and their catalogues."""

    def _sellers(self) -> None:
        rng = self.rng(1)
        n, days = self.n, self.days
        market = rng.choice(len(MARKETS), size=n, p=[m.share for m in MARKETS])

        # Profiles: a few of each problem, one or two very-low-volume sellers, the rest healthy.
        k = max(1, round(n * 0.05))
        # One more high-ODR seller than the others: the defect metrics are the headline.
        wanted = [p for p in _PROBLEM_PROFILES for _ in range(k + (p == "high_odr"))]
        wanted += ["low_volume"] * max(1, round(n * 0.04))
        wanted = wanted[:n] + ["healthy"] * max(0, n - len(wanted))
        profile = np.array([PROFILES.index(p) for p in wanted])[rng.permutation(n)]
        # The first seller of each problem profile (by id) is its anchor: problem all along.
        anchor = np.zeros(n, dtype=bool)
        for p in range(1, len(PROFILES)):
            members = np.flatnonzero(profile == p)
            if members.size:
                anchor[members[0]] = True

        # Registration: most before the period; a few during it (not anchors).
        reg_day = -rng.integers(30, 2500, size=n)
        n_new = max(1, round(n * 0.04)) if n >= 5 and days >= 14 else 0
        if n_new:
            candidates = np.flatnonzero(~anchor)
            new = rng.choice(candidates, size=min(n_new, candidates.size), replace=False)
            reg_day[new] = rng.integers(1, max(2, days * 2 // 3), size=new.size)
        new_mask = reg_day > 0
        reg_t = np.where(
            new_mask,
            reg_day * DAY + _gap(rng, n, 6 * HOUR, 10 * HOUR),
            rng.integers(0, 10 * MINUTE, size=n),
        )
        # New sellers sell from the day after registration, so the sellers row leads.
        first_day = np.where(new_mask, reg_day + 1, 0)

        volume = np.clip(rng.lognormal(np.log(5.4), 0.8, size=n), 0.8, 80.0)
        volume = np.where(profile == PROFILES.index("low_volume"), rng.uniform(0.3, 0.8, n), volume)

        # Fulfilment mix: some all-MFN, some mostly AFN; MFN problems need MFN orders.
        mix = rng.random(n)
        afn = np.where(
            mix < 0.3,
            0.0,
            np.where(mix < 0.55, rng.uniform(0.7, 0.95, n), rng.uniform(0.2, 0.6, n)),
        )
        mfn_problem = np.isin(
            profile,
            [PROFILES.index(p) for p in ("late_shipper", "seller_canceller", "poor_tracking")],
        )
        afn = np.where(mfn_problem, rng.uniform(0.0, 0.25, n), afn)
        handling = rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15])

        # Per-seller probabilities when healthy, calibrated so a healthy seller meets every
        # target of SPEC 3.3 (about 97 % perfect orders: buyer threads, refunds, buyer
        # cancellations and late shipments each stay around 1 % of orders) ...
        base = {
            "late_ship": rng.uniform(0.001, 0.008, n),
            "never_confirm": rng.uniform(0.0, 0.002, n),
            "cancel_buyer": rng.uniform(0.002, 0.006, n),
            "cancel_seller": rng.uniform(0.001, 0.008, n),
            "no_tracking": rng.uniform(0.001, 0.008, n),
            "no_scan": rng.uniform(0.003, 0.015, n),
            "late_delivery": rng.uniform(0.02, 0.07, n),
            "fb_other": rng.uniform(0.07, 0.12, n),
            "neg": rng.uniform(0.001, 0.004, n),
            "claim": rng.uniform(0.0003, 0.0015, n),
            "chargeback": rng.uniform(0.0002, 0.0008, n),
            "refund": rng.uniform(0.004, 0.01, n),
            "thread": rng.uniform(0.006, 0.015, n),
            "resp_median_h": rng.uniform(1.5, 6.0, n),
            "resp_sigma": np.full(n, 1.0),
            "no_reply": rng.uniform(0.002, 0.015, n),
            "notice_rate": rng.uniform(0.0005, 0.002, n),
        }
        base["neg"] = np.where(profile == PROFILES.index("low_volume"), 0.015, base["neg"])
        # ... and while a problem is active (severity 1.0 for anchors: a clear example).
        severity = np.where(anchor, 1.0, rng.random(n))

        def scale(low: float, high: float) -> np.ndarray:
            return low + severity * (high - low)

        problem = {key: value.copy() for key, value in base.items()}
        overrides = {
            "high_odr": {
                "neg": scale(0.008, 0.035),
                "claim": scale(0.004, 0.012),
                "chargeback": scale(0.002, 0.006),
                "refund": base["refund"] * 1.8,
            },
            "late_shipper": {
                "late_ship": scale(0.07, 0.2),
                "never_confirm": scale(0.01, 0.04),
                "late_delivery": scale(0.12, 0.25),
            },
            "seller_canceller": {"cancel_seller": scale(0.03, 0.1)},
            "poor_tracking": {"no_tracking": scale(0.03, 0.08), "no_scan": scale(0.04, 0.1)},
            "slow_responder": {
                "resp_median_h": scale(14.0, 30.0),
                "resp_sigma": np.full(n, 0.7),
                "no_reply": scale(0.08, 0.2),
            },
            "notice_heavy": {"notice_rate": scale(0.04, 0.08)},
        }
        for name, values in overrides.items():
            members = profile == PROFILES.index(name)
            for key, arr in values.items():
                problem[key] = np.where(members, arr, problem[key])

        # When the problem is active: anchors all along; others from the start or from a day in
        # the period, and some recover (statuses change over time; defect spikes appear).
        onset = np.where(rng.random(n) < 0.5, 0, (rng.uniform(0.15, 0.6, n) * days).astype(int))
        recover = np.where(rng.random(n) < 0.3, onset + rng.integers(20, 46, n), days + 1)
        onset = np.where(anchor, 0, onset)
        recover = np.where(anchor, days + 1, recover)
        is_problem = profile != PROFILES.index("healthy")
        onset = np.where(is_problem, onset, days + 1)

        names, emails, emails2 = self._seller_texts(rng, market)
        change_t = np.where(
            rng.random(n) < 0.08, reg_t + DAY + (rng.random(n) * days * DAY).astype(np.int64), NEVER
        )

        self.s_market, self.s_profile, self.s_anchor = market, profile, anchor
        self.s_reg_day, self.s_reg_t, self.s_first_day = reg_day, reg_t, first_day
        self.s_volume, self.s_afn, self.s_handling = volume, afn, handling
        self.s_base, self.s_problem, self.s_onset, self.s_recover = base, problem, onset, recover
        self.s_names, self.s_emails, self.s_emails2, self.s_change_t = (
            names,
            emails,
            emails2,
            change_t,
        )
        self.s_width = max(4, len(str(n)))
        self.s_ids = _id_rows("S", np.arange(1, n + 1), self.s_width)

    def _seller_texts(
        self, rng: np.random.Generator, market: np.ndarray
    ) -> tuple[list[str], list[str], list[str]]:
        names: list[str] = []
        seen: dict[str, int] = {}
        emails, emails2 = [], []
        draws = rng.random((market.size, 6))
        for i, m in enumerate(market):
            code = MARKETS[m].code
            u = draws[i]
            if u[0] < 0.08:
                name = _ODD_NAMES[code][int(u[1] * len(_ODD_NAMES[code]))]
            else:
                # A few tries for a name not taken yet, then a number.
                for _ in range(5):
                    name = _shop_name(code, rng.random(4))
                    if name not in seen:
                        break
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name} {seen[name]}"
            names.append(name)
            ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
            slug = "-".join("".join(c if c.isalnum() else " " for c in ascii_name).lower().split())
            domain = f"{slug}.{code.lower()}.example"
            local = _EMAIL_LOCAL[int(u[3] * len(_EMAIL_LOCAL))]
            email = f"{local}@{domain}"
            if u[4] < 0.3:  # a second recipient
                email += f";owner@{domain}"
            emails.append(email)
            emails2.append(f"{_EMAIL_LOCAL[int(u[5] * len(_EMAIL_LOCAL))]}.new@{domain}")
        return names, emails, emails2

    # .. catalogue .................................................................................

    def _catalog(self) -> None:
        rng = self.rng(2)
        seller_parts, line_parts, num_parts = [], [], []
        for s in range(self.n):
            lines = rng.choice(len(PRODUCT_LINES), size=rng.integers(2, 5), replace=False)
            for line in np.sort(lines):
                k = int(rng.integers(5, 31))
                seller_parts.append(np.full(k, s))
                line_parts.append(np.full(k, line))
                num_parts.append(np.arange(1, k + 1))
        sku_seller = np.concatenate(seller_parts)
        sku_line = np.concatenate(line_parts)
        sku_num = np.concatenate(num_parts)
        m = sku_seller.size
        median = np.array([p[2] for p in PRODUCT_LINES])[sku_line]
        fx = np.array([mk.fx for mk in MARKETS])[self.s_market[sku_seller]]
        price = median * fx * rng.lognormal(0.0, 0.45, m)
        # Shop prices: mostly x.99, some x.49, a few round.
        ending = rng.choice([99, 49, 0], size=m, p=[0.7, 0.2, 0.1])
        cents = (
            np.maximum(np.floor(price), 1).astype(np.int64) * 100
            + ending
            - np.where(ending == 0, 0, 100)
        )
        cents = np.maximum(cents, 99)
        # Popularity: a few best sellers per seller (Zipf-like weights, shuffled).
        weight = 1.0 / (1.0 + rng.permutation(m) % 12) ** 0.9
        total = np.bincount(sku_seller, weights=weight, minlength=self.n)
        cum = np.cumsum(weight) - np.concatenate([[0.0], np.cumsum(total)[:-1]])[sku_seller]
        cum = sku_seller + cum / total[sku_seller]
        last = np.r_[sku_seller[1:] != sku_seller[:-1], True]
        cum[last] = sku_seller[last] + 1.0
        # Defect proneness per SKU: high-ODR sellers have one or two bad SKUs behind most of it.
        quality = rng.lognormal(0.0, 0.3, m)
        for seller in np.flatnonzero(self.s_profile == PROFILES.index("high_odr")):
            own = np.flatnonzero(sku_seller == seller)
            bad = own[np.argsort(-weight[own])[: 1 + int(rng.random() < 0.5)]]
            quality[bad] *= 5.0
        codes = [p[1] for p in PRODUCT_LINES]
        texts = [
            f"{codes[line]}-{s + 1:0{self.s_width}d}-{num:03d}"
            for s, line, num in zip(
                sku_seller.tolist(), sku_line.tolist(), sku_num.tolist(), strict=True
            )
        ]
        self.k_seller, self.k_line, self.k_cents, self.k_quality = (
            sku_seller,
            sku_line,
            cents,
            quality,
        )
        self.k_cum = cum
        # Fixed width (line code, seller number, item number): stored as ASCII rows.
        self.k_text = np.frombuffer("".join(texts).encode(), dtype=np.uint8).reshape(m, -1)
        self.k_texts = texts

    # .. orders ....................................................................................
