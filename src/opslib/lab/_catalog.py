"""The lab's product catalogue and site profiles: one pure function of the settings.

The seed SQL, the shop and the tests all derive prices, layouts and intervals from here, so a
page the shop serves agrees with the history in the database.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from opslib.lab._settings import LabSettings

__all__ = ["DUE_SHARE", "HEADROOM", "Product", "catalog", "domain_profile", "proxy_latency_ms"]

_CURRENCIES = ("EUR", "EUR", "GBP", "EUR", "USD", "PLN", "EUR", "SEK")
_ADJECTIVES = ("Classic", "Compact", "Deluxe", "Eco", "Pro", "Smart", "Ultra", "Mini", "Max")
_NOUNS = ("Kettle", "Blender", "Headphones", "Backpack", "Lamp", "Drill", "Toaster", "Router",
          "Monitor", "Keyboard", "Chair", "Jacket", "Camera", "Speaker", "Watch")  # fmt: skip
_PRIORITIES = (1, 2, 3, 3, 4, 5, 5, 5, 5, 6, 6, 7, 8, 9, 10)
_PROXY_LATENCY_MS = (4, 9, 38, 12, 6, 17, 11, 14, 21, 55, 42, 8, 10, 7, 15, 19)
VARIANTS = 5
DRIFT = 0.06
DUE_SHARE = 0.9  # URLs fall due at 90 % of the lab's scrape rate ...
HEADROOM = 1.5  # ... and the workers together could scrape 150 % of it


@dataclass(frozen=True)
class Product:
    """One monitored product page; ``n`` is its number in the URL and its url_id when seeded."""

    n: int
    domain: str
    currency: str
    name: str
    base_price: float
    period_days: float
    phase: float
    priority: int
    check_interval_s: float
    variant: int
    out_of_stock: bool

    def price_at(self, epoch: float) -> float:
        """The shelf price at ``epoch`` (seconds): a slow per-product drift around the base."""
        angle = 2 * math.pi * epoch / (86400 * self.period_days) + self.phase
        return round(self.base_price * (1 + DRIFT * math.sin(angle)), 2)

    def url(self, shop_port: int) -> str:
        return f"http://{self.domain}:{shop_port}/product/{self.n}"


def catalog(settings: LabSettings) -> list[Product]:
    """Every product of the lab, ``n`` = 1 .. settings.urls, spread evenly over the domains."""
    domains = settings.domain_names
    products = []
    for n in range(1, settings.urls + 1):
        rng = random.Random(n * 7919)  # noqa: S311 - a reproducible catalogue, not security
        index = (n - 1) % len(domains)
        priority = rng.choice(_PRIORITIES)
        products.append(
            Product(
                n=n,
                domain=domains[index],
                currency=_CURRENCIES[index % len(_CURRENCIES)],
                name=f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {n}",
                base_price=round(math.exp(rng.uniform(math.log(4), math.log(900))), 2),
                period_days=rng.uniform(3, 14),
                phase=rng.uniform(0, 2 * math.pi),
                priority=priority,
                check_interval_s=0.6 + 0.08 * (priority - 1),  # a factor until scaled below
                variant=rng.randrange(VARIANTS),
                out_of_stock=rng.random() < 0.02,
            )
        )
    # URLs fall due a little below the scrape rate and the workers have headroom: the queue
    # stays near empty when healthy, drains fast after a fault, and fills when a worker stops.
    base = sum(1 / p.check_interval_s for p in products) / (DUE_SHARE * settings.scrape_rate)
    return [replace(p, check_interval_s=max(5.0, base * p.check_interval_s)) for p in products]


def domain_profile(index: int) -> tuple[float, float]:
    """Healthy (latency in ms, error rate) of the shop domain at ``index``."""
    return 15.0 + (index * 13) % 45, 0.004 + (index % 4) * 0.003


def proxy_latency_ms(index: int) -> float:
    """Added latency of the proxy at ``index`` (its distance from the shops)."""
    return float(_PROXY_LATENCY_MS[index % len(_PROXY_LATENCY_MS)])
