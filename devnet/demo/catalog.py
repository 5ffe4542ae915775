"""The fixed ingredients of the demo network: towns, skills, services, stock and names.

Everything here is immutable; the generator draws from it with a seeded RNG.
"""

from __future__ import annotations

from dataclasses import dataclass

OpeningHours = tuple[tuple[int, int] | None, ...]  # Monday..Sunday: (open hour, close hour) or closed


def week(
    weekdays: tuple[int, int], saturday: tuple[int, int] | None, sunday: tuple[int, int] | None = None
) -> OpeningHours:
    return (weekdays,) * 5 + (saturday, sunday)


def words(text: str) -> tuple[str, ...]:
    """A space-separated list: keeps long name lists compact after formatting."""
    return tuple(text.split())


@dataclass(frozen=True, slots=True)
class LocationSpec:
    id: str
    name: str
    kind: str  # bookingx|onebooking|platform|pms
    is_hub: bool
    status: str
    town: str
    timezone: str
    currency: str
    tax_rate_bp: int
    commission_rate_bp: int
    latitude: float
    longitude: float
    version: str
    # Local prices relative to the catalogue's GBP base price (FX included for EUR sites).
    price_factor_pct: int
    opening_hours: OpeningHours
    resources_per_skill: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class SkillSpec:
    """What a resource can do; services name the skill they need."""

    name: str
    resource_kind: str  # staff|room|equipment
    titles: tuple[str, ...]
    # Rooms and equipment have fixed names; staff get a person's name instead.
    fixed_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    key: str
    name: str
    category: str
    duration_minutes: int
    base_price_minor: int  # GBP pence
    skill: str
    popularity: int  # relative booking weight
    description: str


@dataclass(frozen=True, slots=True)
class StockItemSpec:
    sku: str
    name: str
    category: str
    unit: str
    typical_quantity: int
    reorder_point: int
    shelf_life_days: int | None = None  # consumables expire


LOCATIONS: tuple[LocationSpec, ...] = (
    LocationSpec(
        id="manchester-central",
        name="Manchester Central",
        kind="bookingx",
        is_hub=True,
        status="online",
        town="Manchester",
        timezone="Europe/London",
        currency="GBP",
        tax_rate_bp=2000,
        commission_rate_bp=300,
        latitude=53.4808,
        longitude=-2.2426,
        version="2.4.1",
        price_factor_pct=100,
        opening_hours=week((8, 20), saturday=(9, 18), sunday=(10, 16)),
        resources_per_skill=(
            ("stylist", 4),
            ("therapist", 3),
            ("trainer", 2),
            ("nail_technician", 1),
            ("studio", 1),
            ("float_room", 1),
            ("sauna", 1),
        ),
    ),
    LocationSpec(
        id="stockport-merseyway",
        name="Stockport Merseyway",
        kind="bookingx",
        is_hub=False,
        status="online",
        town="Stockport",
        timezone="Europe/London",
        currency="GBP",
        tax_rate_bp=2000,
        commission_rate_bp=500,
        latitude=53.4106,
        longitude=-2.1575,
        version="2.4.1",
        price_factor_pct=92,
        opening_hours=week((9, 18), saturday=(9, 17)),
        resources_per_skill=(
            ("stylist", 3),
            ("therapist", 2),
            ("trainer", 2),
            ("nail_technician", 1),
            ("studio", 1),
            ("sauna", 1),
        ),
    ),
    LocationSpec(
        id="salford-quays",
        name="Salford Quays Spa",
        kind="onebooking",
        is_hub=False,
        status="online",
        town="Salford",
        timezone="Europe/London",
        currency="GBP",
        tax_rate_bp=2000,
        commission_rate_bp=500,
        latitude=53.4719,
        longitude=-2.2961,
        version="1.9.0",
        price_factor_pct=97,
        opening_hours=week((9, 19), saturday=(9, 17), sunday=(10, 15)),
        resources_per_skill=(
            ("stylist", 3),
            ("therapist", 2),
            ("trainer", 1),
            ("nail_technician", 1),
            ("studio", 1),
            ("sauna", 1),
        ),
    ),
    LocationSpec(
        id="leeds-headingley",
        name="Leeds Headingley Studio",
        kind="platform",
        is_hub=False,
        status="degraded",
        town="Leeds",
        timezone="Europe/London",
        currency="GBP",
        tax_rate_bp=2000,
        commission_rate_bp=800,
        latitude=53.8196,
        longitude=-1.5766,
        version="api-2025-06",
        price_factor_pct=95,
        opening_hours=week((9, 18), saturday=(9, 17)),
        resources_per_skill=(
            ("stylist", 3),
            ("therapist", 2),
            ("trainer", 1),
            ("nail_technician", 1),
            ("studio", 1),
            ("float_room", 1),
        ),
    ),
    LocationSpec(
        id="dublin-ranelagh",
        name="Dublin Ranelagh",
        kind="bookingx",
        is_hub=False,
        status="online",
        town="Dublin",
        timezone="Europe/Dublin",
        currency="EUR",
        tax_rate_bp=2300,
        commission_rate_bp=500,
        latitude=53.3259,
        longitude=-6.2566,
        version="2.3.7",
        price_factor_pct=123,
        opening_hours=week((9, 19), saturday=(9, 17)),
        resources_per_skill=(
            ("stylist", 3),
            ("therapist", 2),
            ("trainer", 1),
            ("nail_technician", 1),
            ("studio", 1),
            ("sauna", 1),
        ),
    ),
)

SKILLS: tuple[SkillSpec, ...] = (
    SkillSpec("stylist", "staff", ("Senior stylist", "Stylist", "Colour specialist", "Junior stylist")),
    SkillSpec("therapist", "staff", ("Massage therapist", "Beauty therapist", "Senior therapist")),
    SkillSpec("trainer", "staff", ("Personal trainer", "Yoga & PT coach")),
    SkillSpec("nail_technician", "staff", ("Nail technician",)),
    SkillSpec("studio", "room", ("Private studio",), ("Garden Studio", "Studio One", "Loft Studio")),
    SkillSpec("float_room", "room", ("Float suite",), ("Float Suite", "Float Room 1")),
    SkillSpec("sauna", "equipment", ("Infrared sauna cabin",), ("Infrared Sauna A", "Infrared Sauna Cabin")),
)

SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "womens_cut", "Women's cut & finish", "hair", 45, 4200, "stylist", 14, "Consultation, wash, cut and blow-dry."
    ),
    ServiceSpec("mens_cut", "Men's cut", "hair", 30, 2400, "stylist", 12, "Scissor or clipper cut with wash."),
    ServiceSpec(
        "colour", "Full head colour", "hair", 90, 8500, "stylist", 6, "Permanent colour, root to tip, with toner."
    ),
    ServiceSpec(
        "massage_60", "Swedish massage (60 min)", "massage", 60, 5500, "therapist", 8, "Full-body relaxing massage."
    ),
    ServiceSpec(
        "massage_30", "Deep tissue massage (30 min)", "massage", 30, 3500, "therapist", 6, "Back, neck and shoulders."
    ),
    ServiceSpec(
        "facial", "Signature facial", "skin", 60, 6000, "therapist", 6, "Cleanse, exfoliate, mask and massage."
    ),
    ServiceSpec(
        "manicure", "Gel manicure", "nails", 45, 2800, "nail_technician", 8, "Shape, cuticle care and gel polish."
    ),
    ServiceSpec(
        "personal_training", "Personal training", "fitness", 60, 4500, "trainer", 7, "One-to-one session with a coach."
    ),
    ServiceSpec(
        "private_yoga",
        "Private yoga session",
        "fitness",
        60,
        3000,
        "studio",
        4,
        "The studio to yourself, mats and props included.",
    ),
    ServiceSpec(
        "float",
        "Float tank session",
        "wellness",
        60,
        4000,
        "float_room",
        3,
        "An hour in the float suite, shower included.",
    ),
    ServiceSpec(
        "sauna", "Infrared sauna (30 min)", "wellness", 30, 1800, "sauna", 4, "Private infrared cabin, towels provided."
    ),
)

STOCK_ITEMS: tuple[StockItemSpec, ...] = (
    StockItemSpec("HC-SHAM-250", "Hydrating shampoo 250 ml", "retail hair care", "bottle", 40, 8, 730),
    StockItemSpec("HC-COND-250", "Repair conditioner 250 ml", "retail hair care", "bottle", 36, 8, 730),
    StockItemSpec("HC-OIL-100", "Argan hair oil 100 ml", "retail hair care", "bottle", 24, 6, 540),
    StockItemSpec("HC-SPRAY-300", "Flexible hold hairspray", "retail hair care", "can", 30, 6, 900),
    StockItemSpec("HC-MASK-200", "Bond repair mask 200 ml", "retail hair care", "tub", 20, 5, 540),
    StockItemSpec("PC-DEV-20V", "Cream developer 20 vol 1 L", "professional colour", "bottle", 12, 4, 365),
    StockItemSpec("PC-TINT-6N", "Permanent tint 6/0 dark blonde", "professional colour", "tube", 30, 10, 365),
    StockItemSpec("PC-TINT-8N", "Permanent tint 8/0 light blonde", "professional colour", "tube", 30, 10, 365),
    StockItemSpec("PC-BLEACH-500", "Lightening powder 500 g", "professional colour", "tub", 10, 3, 540),
    StockItemSpec("PC-FOIL-100", "Highlighting foil roll 100 m", "professional colour", "roll", 15, 4),
    StockItemSpec("SK-CLEANSE-150", "Gentle cleanser 150 ml", "skin care", "bottle", 25, 6, 540),
    StockItemSpec("SK-SERUM-30", "Vitamin C serum 30 ml", "skin care", "bottle", 18, 5, 365),
    StockItemSpec("SK-SPF-50", "Daily SPF 50 moisturiser", "skin care", "tube", 22, 6, 365),
    StockItemSpec("SK-MASK-10", "Sheet mask (pack of 10)", "skin care", "pack", 16, 4, 540),
    StockItemSpec("MS-OIL-1L", "Sweet almond massage oil 1 L", "massage", "bottle", 10, 3, 365),
    StockItemSpec("MS-BALM-500", "Warming muscle balm 500 ml", "massage", "tub", 8, 2, 540),
    StockItemSpec("MS-STONE-SET", "Basalt hot stone set", "massage", "set", 3, 1),
    StockItemSpec("NL-GEL-BASE", "Gel base coat 15 ml", "nails", "bottle", 14, 4, 540),
    StockItemSpec("NL-GEL-TOP", "Gel top coat 15 ml", "nails", "bottle", 14, 4, 540),
    StockItemSpec("NL-REMOVER-1L", "Acetone remover 1 L", "nails", "bottle", 8, 2, 730),
    StockItemSpec("NL-FILE-50", "Nail files (pack of 50)", "nails", "pack", 10, 3),
    StockItemSpec("LN-TOWEL-HAND", "Hand towel, white", "linen", "each", 120, 40),
    StockItemSpec("LN-TOWEL-BATH", "Bath towel, white", "linen", "each", 80, 25),
    StockItemSpec("LN-ROBE", "Waffle robe", "linen", "each", 30, 10),
    StockItemSpec("FT-PROTEIN-1KG", "Whey protein 1 kg", "fitness retail", "tub", 15, 4, 540),
    StockItemSpec("FT-BAND-SET", "Resistance band set", "fitness retail", "set", 12, 3),
    StockItemSpec("FT-MAT", "Yoga mat, 6 mm", "fitness retail", "each", 12, 3),
    StockItemSpec("CL-SANITISER-5L", "Surface sanitiser 5 L", "cleaning", "can", 8, 2, 730),
    StockItemSpec("CL-GLOVES-100", "Nitrile gloves (box of 100)", "cleaning", "box", 20, 6),
    StockItemSpec("CL-CAPE-50", "Disposable capes (pack of 50)", "cleaning", "pack", 10, 3),
)


FIRST_NAMES: tuple[str, ...] = words(
    "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Evie Poppy Charlotte Emily "
    "Ella Florence Willow Hannah Chloe Priya Aisha Zara Megan Laura Rachel Sarah Helen Joanne Oliver "
    "George Noah Arthur Leo Harry Oscar Jack Charlie Jacob Thomas Alfie James Samuel Daniel Mohammed Ravi "
    "Callum Ryan Mark"
)

IRISH_FIRST_NAMES: tuple[str, ...] = words(
    "Aoife Saoirse Niamh Siobhán Ciara Róisín Orla Sinéad Cian Oisín Darragh Seán Conor Eoin Pádraig Fionn"
)

LAST_NAMES: tuple[str, ...] = words(
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker White "
    "Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis Harrison Baker Hughes Turner Hill Cooper "
    "Ward Morris Moore Clark Lee King Harris Shaw Holmes Ahmed Chapman Bennett Hussain Kaur Mitchell "
    "Fletcher Booth Dawson Parkinson Schofield Ashworth"
)

IRISH_LAST_NAMES: tuple[str, ...] = words(
    "Murphy Kelly O'Sullivan Walsh O'Brien Byrne Ryan O'Connor O'Neill Doyle McCarthy Gallagher Kennedy "
    "Lynch Murray Quinn Moore McLoughlin Nolan Brennan"
)

EMAIL_DOMAINS_GB: tuple[str, ...] = words("gmail.com outlook.com yahoo.co.uk btinternet.com icloud.com hotmail.co.uk")

EMAIL_DOMAINS_IE: tuple[str, ...] = words("gmail.com eircom.net outlook.ie icloud.com hotmail.com")

BOOKING_NOTES: tuple[str, ...] = (
    "First visit",
    "Allergic to latex",
    "Prefers a quiet session",
    "Gift voucher",
    "Running 10 min late",
    "Sensitive scalp",
    "Birthday treat",
    "Parking permit requested",
    "Wheelchair access needed",
)
