"""Define the demo catalogue: products, tiers, seasons and the planted co-purchase rules."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

WINTER_MONTHS = (12, 1, 2)
SUMMER_MONTHS = (6, 7, 8)
SEASON_MONTHS = {"winter": WINTER_MONTHS, "summer": SUMMER_MONTHS}
SEASONAL_CATEGORIES = {"ski_gear": "winter", "swimwear": "summer"}

# Share of an order's revenue the store pays for the goods, per category.
COST_RATIO = {
    "computers": 0.80,
    "computer_accessories": 0.45,
    "software": 0.15,
    "phones": 0.75,
    "phone_accessories": 0.35,
    "movies": 0.50,
    "soundtracks": 0.40,
    "restaurant": 0.35,
    "banking": 0.30,
    "ski_gear": 0.55,
    "swimwear": 0.45,
    "outdoor": 0.50,
}

# How often an order's main product comes from each category (seasonal ones scale by month).
CATEGORY_WEIGHT = {
    "computers": 0.07,
    "computer_accessories": 0.07,
    "software": 0.10,
    "phones": 0.07,
    "phone_accessories": 0.06,
    "movies": 0.14,
    "soundtracks": 0.03,
    "restaurant": 0.18,
    "banking": 0.05,
    "ski_gear": 0.06,
    "swimwear": 0.06,
    "outdoor": 0.11,
}

# Month multipliers (January first) for the seasonal categories.
MONTH_FACTOR = {
    "ski_gear": (3.0, 2.5, 1.0, 0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.5, 1.5, 3.0),
    "swimwear": (0.1, 0.1, 0.2, 0.4, 1.2, 3.0, 3.0, 2.5, 0.6, 0.1, 0.1, 0.1),
}

# Categories that never appear as impulse add-ons to another order.
NOT_ADD_ONS = {"computers", "phones", "banking", "ski_gear", "swimwear"}


@dataclass(frozen=True)
class ProductSpec:
    """One product of the demo catalogue, before it gets an id."""

    sku: str
    name: str
    category: str
    price: float
    tier: str = "standard"
    premium_sku: str | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class PlantedRule:
    """A co-purchase planted in the orders: `consequent` joins `antecedent` with `probability`."""

    antecedent: str
    consequent: str
    probability: float
    kind: str = "cross_sell"


def _p(
    sku: str,
    name: str,
    category: str,
    price: float,
    tier: str = "standard",
    premium: str | None = None,
    weight: float = 1.0,
) -> ProductSpec:
    return ProductSpec(sku, name, category, price, tier, premium, weight)


MOVIES = (
    "Northern Lights",
    "The Last Harbour",
    "Clockwork Garden",
    "Desert Run",
    "Paper Moons",
    "Iron Valley",
    "Quiet Signals",
    "Summer of Kites",
)

PRODUCTS: tuple[ProductSpec, ...] = (
    _p("LAPTOP-BASIC", "Laptop 14in Basic", "computers", 499.0, "basic", "LAPTOP-PRO", 1.5),
    _p("LAPTOP-STD", "Laptop 15in", "computers", 899.0, "standard", "LAPTOP-PRO", 1.2),
    _p("LAPTOP-PRO", "Laptop 16in Pro", "computers", 1899.0, "premium", None, 0.2),
    _p("DESKTOP-BASIC", "Desktop Tower", "computers", 599.0, "basic", "DESKTOP-PRO", 0.8),
    _p("DESKTOP-PRO", "Desktop Workstation", "computers", 1499.0, "premium", None, 0.1),
    _p("TABLET-BASIC", "Tablet 10in", "computers", 299.0, "basic", "TABLET-PRO", 1.0),
    _p("TABLET-PRO", "Tablet 12in Pro", "computers", 799.0, "premium", None, 0.1),
    _p("LAPTOP-BAG", "Laptop Bag", "computer_accessories", 49.0, "basic", "LAPTOP-BAG-LEATHER"),
    _p("LAPTOP-BAG-LEATHER", "Leather Laptop Bag", "computer_accessories", 129.0, "premium"),
    _p("MOUSE", "Mouse", "computer_accessories", 25.0, "basic", "MOUSE-WIRELESS"),
    _p("MOUSE-WIRELESS", "Wireless Mouse", "computer_accessories", 59.0, "premium"),
    _p("KEYBOARD", "Keyboard", "computer_accessories", 45.0),
    _p("MONITOR-24", "Monitor 24in", "computer_accessories", 179.0, "standard", "MONITOR-27"),
    _p("MONITOR-27", "Monitor 27in 4K", "computer_accessories", 449.0, "premium"),
    _p("USB-HUB", "USB-C Hub", "computer_accessories", 29.0),
    _p("HEADSET", "Headset", "computer_accessories", 69.0),
    _p("WEBCAM", "Webcam", "computer_accessories", 59.0),
    _p("EXTERNAL-SSD", "External SSD 1TB", "computer_accessories", 99.0),
    _p("ANTIVIRUS", "Antivirus 1 Year", "software", 39.0, "basic", "ANTIVIRUS-FAMILY", 1.5),
    _p("ANTIVIRUS-FAMILY", "Antivirus Family 1 Year", "software", 79.0, "premium"),
    _p("OFFICE-SUITE", "Office Suite", "software", 99.0, "standard", "OFFICE-PRO", 1.5),
    _p("OFFICE-PRO", "Office Suite Pro", "software", 199.0, "premium"),
    _p("PHOTO-EDITOR", "Photo Editor", "software", 79.0),
    _p("GAME-ADVENTURE", "Game: Lost Temples", "software", 59.0, weight=1.5),
    _p("GAME-RACING", "Game: Apex Racing", "software", 49.0, weight=1.5),
    _p("GAME-PUZZLE", "Game: Tiles", "software", 19.0, weight=1.5),
    _p("BACKUP-CLOUD", "Cloud Backup 1 Year", "software", 59.0),
    _p("VPN", "VPN 1 Year", "software", 49.0),
    _p("LANGUAGE-APP", "Language Course", "software", 89.0),
    _p("PHONE-BASIC", "Smartphone Basic", "phones", 199.0, "basic", "PHONE-PREMIUM", 1.5),
    _p("PHONE-STD", "Smartphone", "phones", 499.0, "standard", "PHONE-PREMIUM", 1.0),
    _p("PHONE-PREMIUM", "Smartphone Pro Max", "phones", 999.0, "premium", None, 0.2),
    _p("PHONE-CASE", "Phone Case", "phone_accessories", 19.0, "basic", "PHONE-CASE-LEATHER"),
    _p("PHONE-CASE-LEATHER", "Leather Phone Case", "phone_accessories", 49.0, "premium"),
    _p("SCREEN-PROTECTOR", "Screen Protector", "phone_accessories", 12.0),
    _p("CHARGER-FAST", "Fast Charger", "phone_accessories", 29.0),
    _p("EARBUDS", "Earbuds", "phone_accessories", 49.0, "standard", "EARBUDS-PRO"),
    _p("EARBUDS-PRO", "Earbuds Pro", "phone_accessories", 199.0, "premium"),
    _p("POWER-BANK", "Power Bank", "phone_accessories", 39.0),
    *(_p(f"MOVIE-{i:02d}", f"Movie: {t}", "movies", 14.99) for i, t in enumerate(MOVIES, 1)),
    *(_p(f"OST-{i:02d}", f"Soundtrack: {t}", "soundtracks", 9.99) for i, t in enumerate(MOVIES, 1)),
    _p("MEAL", "Burger Meal", "restaurant", 8.99, "basic", "MEAL-SUPER-SIZE", 3.0),
    _p("MEAL-SUPER-SIZE", "Super-Size Burger Meal", "restaurant", 11.49, "premium", None, 0.3),
    _p("APPLE-PIE", "Apple Pie", "restaurant", 2.49),
    _p("KIDS-MEAL", "Kids Meal", "restaurant", 5.99),
    _p("COFFEE", "Coffee", "restaurant", 2.99, weight=1.5),
    _p("SALAD", "Garden Salad", "restaurant", 6.99),
    _p("CHECKING", "Checking Account (annual fee)", "banking", 60.0, "basic", "CHECKING-PLUS", 2.0),
    _p("CHECKING-PLUS", "Premium Checking Account", "banking", 180.0, "premium", None, 0.2),
    _p("SAVINGS", "Savings Account", "banking", 30.0),
    _p("MONEY-MARKET", "Money Market Account", "banking", 120.0, weight=0.3),
    _p("HOME-IMPROVEMENT-LOAN", "Home-Improvement Loan (fee)", "banking", 350.0, weight=0.2),
    _p("CREDIT-CARD", "Credit Card", "banking", 95.0, "standard", "CREDIT-CARD-PLATINUM"),
    _p("CREDIT-CARD-PLATINUM", "Platinum Credit Card", "banking", 450.0, "premium"),
    _p("SKIS", "Skis", "ski_gear", 399.0, "standard", "SKIS-PRO"),
    _p("SKIS-PRO", "Skis Pro", "ski_gear", 899.0, "premium"),
    _p("SKI-JACKET", "Ski Jacket", "ski_gear", 249.0, "standard", "SKI-JACKET-PRO"),
    _p("SKI-JACKET-PRO", "Ski Jacket Pro", "ski_gear", 499.0, "premium"),
    _p("SKI-GOGGLES", "Ski Goggles", "ski_gear", 89.0),
    _p("SKI-GLOVES", "Ski Gloves", "ski_gear", 49.0),
    _p("THERMAL-LAYER", "Thermal Base Layer", "ski_gear", 59.0),
    _p("SWIMSUIT", "Swimsuit", "swimwear", 39.0, "standard", "SWIMSUIT-DESIGNER", 2.0),
    _p("SWIMSUIT-DESIGNER", "Designer Swimsuit", "swimwear", 119.0, "premium"),
    _p("BEACH-TOWEL", "Beach Towel", "swimwear", 25.0),
    _p("SUNGLASSES", "Sunglasses", "swimwear", 59.0, "standard", "SUNGLASSES-POLARISED"),
    _p("SUNGLASSES-POLARISED", "Polarised Sunglasses", "swimwear", 149.0, "premium"),
    _p("SUNSCREEN", "Sunscreen SPF50", "swimwear", 15.0),
    _p("FLIP-FLOPS", "Flip-Flops", "swimwear", 19.0),
    _p("TENT", "Tent 2-Person", "outdoor", 199.0, "standard", "TENT-PRO"),
    _p("TENT-PRO", "Ultralight Tent", "outdoor", 449.0, "premium"),
    _p("BACKPACK", "Hiking Backpack", "outdoor", 79.0),
    _p("WATER-BOTTLE", "Water Bottle", "outdoor", 19.0),
    _p("HIKING-BOOTS", "Hiking Boots", "outdoor", 129.0),
)

PLANTED_RULES: tuple[PlantedRule, ...] = (
    *(
        PlantedRule(laptop, accessory, probability)
        for laptop in ("LAPTOP-BASIC", "LAPTOP-STD", "LAPTOP-PRO")
        for accessory, probability in (("LAPTOP-BAG", 0.45), ("MOUSE", 0.35), ("ANTIVIRUS", 0.30))
    ),
    PlantedRule("PHONE-BASIC", "PHONE-CASE", 0.55),
    PlantedRule("PHONE-STD", "PHONE-CASE", 0.40),
    PlantedRule("PHONE-PREMIUM", "PHONE-CASE-LEATHER", 0.40),
    *(PlantedRule(f"MOVIE-{i:02d}", f"OST-{i:02d}", 0.35) for i in range(1, len(MOVIES) + 1)),
    PlantedRule("MEAL", "APPLE-PIE", 0.50),
    PlantedRule("MEAL-SUPER-SIZE", "APPLE-PIE", 0.50),
    PlantedRule("CHECKING", "MONEY-MARKET", 0.30),
    PlantedRule("CHECKING", "HOME-IMPROVEMENT-LOAN", 0.15),
    PlantedRule("CHECKING-PLUS", "MONEY-MARKET", 0.30),
    PlantedRule("CHECKING-PLUS", "HOME-IMPROVEMENT-LOAN", 0.15),
    PlantedRule("SKIS", "SKI-GOGGLES", 0.40),
    PlantedRule("SKIS-PRO", "SKI-GOGGLES", 0.40),
)

# Up-sells are the catalogue's premium links; these are the ones the course texts name.
PLANTED_UPSELLS: tuple[tuple[str, str], ...] = (
    ("LAPTOP-BASIC", "LAPTOP-PRO"),
    ("PHONE-BASIC", "PHONE-PREMIUM"),
    ("MEAL", "MEAL-SUPER-SIZE"),
)

CATEGORIES: tuple[str, ...] = tuple(CATEGORY_WEIGHT)


@dataclass(frozen=True)
class Catalog:
    """The catalogue as arrays indexed by product position (product id = position + 1)."""

    specs: tuple[ProductSpec, ...]
    category: npt.NDArray[np.int16]
    price: npt.NDArray[np.float64]
    unit_cost: npt.NDArray[np.float64]
    premium: npt.NDArray[np.int32]
    weight: npt.NDArray[np.float64]

    @property
    def size(self) -> int:
        """Return the number of products."""
        return len(self.specs)

    def index(self, sku: str) -> int:
        """Return the position of `sku`."""
        return _sku_positions(self.specs)[sku]

    def in_category(self, name: str) -> npt.NDArray[np.int64]:
        """Return the positions of the products in category `name`."""
        return np.flatnonzero(self.category == CATEGORIES.index(name))


@cache
def _sku_positions(specs: tuple[ProductSpec, ...]) -> dict[str, int]:
    return {spec.sku: i for i, spec in enumerate(specs)}


def unit_cost(spec: ProductSpec) -> float:
    """Return what one unit of `spec` costs the store."""
    return round(spec.price * COST_RATIO[spec.category], 2)


@cache
def build_catalog() -> Catalog:
    """Return the demo catalogue (the same every time)."""
    positions = _sku_positions(PRODUCTS)
    return Catalog(
        specs=PRODUCTS,
        category=np.array([CATEGORIES.index(p.category) for p in PRODUCTS], dtype=np.int16),
        price=np.array([p.price for p in PRODUCTS]),
        unit_cost=np.array([unit_cost(p) for p in PRODUCTS]),
        premium=np.array(
            [positions[p.premium_sku] if p.premium_sku else -1 for p in PRODUCTS], dtype=np.int32
        ),
        weight=np.array([p.weight for p in PRODUCTS]),
    )


def in_season(months: npt.NDArray[np.int64], season: str) -> npt.NDArray[np.bool_]:
    """Return which `months` (1-12) fall in `season`."""
    return np.isin(months, SEASON_MONTHS[season])
