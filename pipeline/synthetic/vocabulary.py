"""The synthetic marketplace's vocabulary: markets, carriers, product lines, seller
profiles, names and words, and the rhythms of a day and a week."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipeline.schema import CLAIM_STATUSES, ORDER_STATUSES

log = logging.getLogger(__name__)


DAY = 86_400
HOUR = 3_600
MINUTE = 60
# "Has not happened (yet)": larger than any version time, so `event <= lu` is simply false.
NEVER = np.int64(2**62)
# A version's last_updated_at trails its change by up to this much; changes of one entity are
# at least MIN_GAP apart, so the lag never makes a version show the next change.
CDC_LAG = 90
MIN_GAP = 5 * MINUTE
LATE_SHARE = 0.005
# A file needs this many rows before it may carry a malformed row (1 bad row, or 2 rejected
# rows for a duplicate, stays <= 1 % of it).
MALFORMED_MIN_ROWS = 200
# Rows formatted at once; bounds memory (and keeps pyarrow string offsets 32-bit).
CHUNK_ROWS = 1_000_000

Progress = Callable[[str], None]


# --- reference data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Market:
    code: str
    currency: str
    fx: float  # price level relative to USD
    order_prefix: str  # first block of the order id; sorts US < UK < DE
    utc_offset: int  # hours, for the shape of the purchase time of day
    transit: tuple[int, int]  # promised days from ship date to delivery date
    carriers: tuple[str, ...]
    carrier_weights: tuple[float, ...]
    share: float


MARKETS = (
    _Market(code="US", currency="USD", fx=1.00, order_prefix="113", utc_offset=-5,
            transit=(3, 7), carriers=("UPS", "USPS", "FedEx", "DHL"),
            carrier_weights=(0.35, 0.35, 0.22, 0.08), share=0.5),
    _Market(code="UK", currency="GBP", fx=0.80, order_prefix="204", utc_offset=0,
            transit=(2, 4), carriers=("Royal Mail", "Hermes", "DPD", "DHL"),
            carrier_weights=(0.45, 0.25, 0.2, 0.1), share=0.25),
    _Market(code="DE", currency="EUR", fx=0.92, order_prefix="305", utc_offset=1,
            transit=(2, 5), carriers=("DHL", "Hermes", "DPD", "UPS"),
            carrier_weights=(0.5, 0.2, 0.2, 0.1), share=0.25),
)  # fmt: skip

CARRIERS = ("DHL", "DPD", "FedEx", "Hermes", "Royal Mail", "UPS", "USPS")
# Tracking number shape per carrier: prefix, digits, suffix.
_TRACKING_FORMAT = {
    "DHL": ("", 10, ""),
    "DPD": ("0", 13, ""),
    "FedEx": ("", 12, ""),
    "Hermes": ("H", 15, ""),
    "Royal Mail": ("RM", 9, "GB"),
    "UPS": ("1Z", 16, ""),
    "USPS": ("9400", 18, ""),
}

# name, SKU code, median item price in USD
PRODUCT_LINES = (
    ("Electronics", "ELE", 45.0),
    ("Home & Kitchen", "HOM", 28.0),
    ("Toys", "TOY", 22.0),
    ("Books", "BOK", 13.0),
    ("Beauty", "BEA", 17.0),
    ("Sports", "SPO", 32.0),
    ("Clothing", "CLO", 26.0),
    ("Garden", "GAR", 30.0),
    ("Pet Supplies", "PET", 19.0),
    ("Office", "OFF", 15.0),
)

PROFILES = (
    "healthy",
    "high_odr",
    "late_shipper",
    "seller_canceller",
    "poor_tracking",
    "slow_responder",
    "notice_heavy",
    "low_volume",
)
_PROBLEM_PROFILES = PROFILES[1:7]

# Shop names: first part, optional middle word, last part.
# fmt: off
_NAME_PARTS = {
    "US": (
        ("Blue Ridge", "Summit", "Prairie", "Harbor", "Maple Lane", "Cedar Point", "Golden Gate",
         "Lakeside", "Redwood", "Liberty", "Sunset", "Pioneer", "Evergreen", "Granite", "Bayou",
         "Copper Creek", "Hudson", "Desert Rose", "Lone Star", "Big Sky"),
        ("Goods", "Supply Co.", "Outfitters", "Trading", "Essentials", "Emporium", "Direct",
         "Market", "Gear", "Depot"),
    ),
    "UK": (
        ("Thistle & Oak", "Kingsbridge", "Albion", "Hawthorn", "Brighton", "Cotswold",
         "Penny Lane", "Highland", "Harrow", "Wren", "Bramble", "Tyneside", "Ashford", "Mersey",
         "Fenwick"),
        ("Ltd", "Trading Ltd", "& Sons", "Supplies", "Emporium", "Goods", "Direct"),
    ),
    "DE": (
        ("Müller", "Schäfer", "Nordlicht", "Alpenblick", "Rheinland", "Sonnenschein", "Grünwald",
         "Hafenstadt", "Bärenstark", "Elbufer", "Schwarzwald", "Löwenzahn"),
        ("Handel GmbH", "Versand", "Shop", "Warenhaus", "KG", "e.K.", "Direkt"),
    ),
}
# fmt: on
_NAME_MIDDLE = {
    "US": ("Home", "Tech", "Outdoor", "Kids", "Pet", "Kitchen", "Style", "Book"),
    "UK": ("Home", "Tech", "Garden", "Toy", "Pet", "Kitchen", "Style", "Book"),
    "DE": ("Haus", "Technik", "Garten", "Spielwaren", "Tier", "Küchen", "Mode", "Buch"),
}
# A few names that exercise CSV quoting and non-ASCII text.
_ODD_NAMES = {
    "US": ("Smith, Bell & Co.", 'The "Good Stuff" Store', "Café Crème Supplies"),
    "UK": ("Barker, Hughes & Daughters", "O'Malley's Curiosities", "Crème de la Crème Ltd"),
    "DE": ("Öko-Laden Köln", 'Weiß & Söhne "Qualität"', "Fröhlich, Maier & Partner"),
}
_EMAIL_LOCAL = ("orders", "info", "sales", "shop", "support", "hello", "accounts", "owner")

_CANCEL_REASONS = {
    "buyer": (
        "Buyer requested cancellation",
        "Ordered by mistake",
        "Found a better price",
        "Delivery estimate too long",
    ),
    "seller": ("Out of stock", "Out of stock, supplier delay", "Out of stock"),
    "marketplace": ("Payment not authorised", "Suspected fraud", "Address could not be verified"),
}
_REFUND_REASONS = (
    "Item not as described",
    "Damaged in transit",
    "Return received",
    "Late delivery",
    "Buyer remorse, item returned",
    "Partial refund: missing accessory",
    "Goodwill gesture",
)
_COMMENTS_NEGATIVE = (
    "Item arrived broken.",
    "Never arrived, and no reply from the seller.",
    "Not as described, cheap plastic.",
    'Box said "new" but it was clearly used',
    "Late, damaged, and missing parts",
    "Artikel kam beschädigt an – sehr enttäuscht.",
    "Produit non conforme, très déçu.",
    "Wrong size; the return label didn't work",
    "Stopped working after 3 days 😞",
)
_COMMENTS_NEUTRAL = (
    "OK, but took a while.",
    "Fine, packaging could be better",
    "Does the job.",
    "Naja, geht so.",
    "Average quality; 3/5",
)
_COMMENTS_POSITIVE = (
    "Great seller, fast shipping!",
    "Exactly as described. Would buy again.",
    "Perfect 👍",
    'Five stars — "just what I needed"',
    "Super schnell geliefert, danke!",
    "Très bien, merci !",
    "Lovely quality, arrived early",
    "A+++",
)
_NOTICE_SUBJECTS = {
    "listing_policy": (
        "Listing removed: SKU {sku} violates the listing policy",
        'Policy warning: prohibited keywords in the title of "{sku}"',
    ),
    "ip_complaint": (
        "Intellectual property complaint received for SKU {sku}",
        "Rights owner notice, trademark use in {sku}",
    ),
    "authenticity": (
        "Authenticity complaint: buyers report {sku} is not genuine",
        "Supply-chain documents requested for {sku}",
    ),
    "product_condition": (
        '"Used sold as new" complaints about SKU {sku}',
        "Product condition complaints, please review {sku}",
    ),
    "product_safety": (
        "Product safety report for {sku}: buyer reported overheating",
        "Safety documentation required for {sku}",
    ),
    "restricted_product": (
        "Restricted product: {sku} requires approval",
        "Listing of {sku} deactivated, restricted category",
    ),
    "performance": (
        "Your order defect rate is above target",
        "Late shipment rate above 4 %, action required",
        "Cancellation rate above target",
    ),
    "other": (
        "Tax settings: please review your VAT information",
        "Reminder: update your return address",
        "Account verification, please confirm your details",
    ),
}

# Feedback ratings: negative (1-2) and other (3-5) distributions.
_NEG_RATINGS, _NEG_P = np.array([1, 2]), np.array([0.6, 0.4])
_OTHER_RATINGS, _OTHER_P = np.array([3, 4, 5]), np.array([0.1, 0.25, 0.65])
# Final claim statuses (open -> one of these) and their shares.
_CLAIM_FINAL = tuple(s for s in CLAIM_STATUSES if s != "open")
_CLAIM_FINAL_P = (0.28, 0.25, 0.06, 0.15, 0.16, 0.10)
_ORDER_STATUS = ORDER_STATUSES
_INITIATORS = ("buyer", "seller", "marketplace")
# Purchase hour of day, local time: quiet nights, busy evenings.
# fmt: off
_HOUR_WEIGHTS = np.array([
    1.2, 0.7, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.4, 3.2, 3.6, 3.8,
    4.0, 4.0, 3.8, 3.7, 3.8, 4.2, 4.8, 5.4, 5.8, 5.2, 3.8, 2.2,
])
# fmt: on
_HOUR_WEIGHTS = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()
# Monday..Sunday: weekends are visibly busier.
_WEEKDAY_FACTOR = np.array([1.02, 0.94, 0.92, 0.93, 0.99, 1.13, 1.21])
_WEEKDAY_FACTOR = _WEEKDAY_FACTOR / _WEEKDAY_FACTOR.mean()
