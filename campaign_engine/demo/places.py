"""Hold the demo's cities with their region, country, time zone, locale and number formats."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    """A city contacts live in; `postal` and `dial` seed postal codes and phone numbers."""

    city: str
    region: str
    country: str
    time_zone: str
    locale: str
    postal: str
    dial: str
    weight: float


def _us(city: str, state: str, tz: str, zip3: str, area: str, weight: float) -> Place:
    return Place(city, state, "US", f"America/{tz}", "en-US", zip3, f"+1{area}", weight)


PLACES: tuple[Place, ...] = (
    _us("New York", "NY", "New_York", "100", "212", 8.0),
    _us("Boston", "MA", "New_York", "021", "617", 3.0),
    _us("Philadelphia", "PA", "New_York", "191", "215", 3.0),
    _us("Atlanta", "GA", "New_York", "303", "404", 3.0),
    _us("Miami", "FL", "New_York", "331", "305", 3.0),
    _us("Chicago", "IL", "Chicago", "606", "312", 5.0),
    _us("Houston", "TX", "Chicago", "770", "713", 4.0),
    _us("Dallas", "TX", "Chicago", "752", "214", 4.0),
    _us("Minneapolis", "MN", "Chicago", "554", "612", 2.0),
    _us("Denver", "CO", "Denver", "802", "303", 3.0),
    _us("Salt Lake City", "UT", "Denver", "841", "801", 2.0),
    _us("Los Angeles", "CA", "Los_Angeles", "900", "213", 7.0),
    _us("San Francisco", "CA", "Los_Angeles", "941", "415", 4.0),
    _us("Seattle", "WA", "Los_Angeles", "981", "206", 3.0),
    _us("Portland", "OR", "Los_Angeles", "972", "503", 2.0),
    Place("London", "England", "GB", "Europe/London", "en-GB", "SW", "+447", 6.0),
    Place("Manchester", "England", "GB", "Europe/London", "en-GB", "M", "+447", 2.0),
    Place("Birmingham", "England", "GB", "Europe/London", "en-GB", "B", "+447", 2.0),
    Place("Bristol", "England", "GB", "Europe/London", "en-GB", "BS", "+447", 1.0),
    Place("Edinburgh", "Scotland", "GB", "Europe/London", "en-GB", "EH", "+447", 1.0),
    Place("Cardiff", "Wales", "GB", "Europe/London", "en-GB", "CF", "+447", 0.7),
    Place("Berlin", "Berlin", "DE", "Europe/Berlin", "de-DE", "10", "+4915", 3.0),
    Place("Munich", "Bavaria", "DE", "Europe/Berlin", "de-DE", "80", "+4915", 2.5),
    Place("Hamburg", "Hamburg", "DE", "Europe/Berlin", "de-DE", "20", "+4915", 2.0),
    Place("Cologne", "North Rhine-Westphalia", "DE", "Europe/Berlin", "de-DE", "50", "+4915", 1.5),
    Place("Frankfurt", "Hesse", "DE", "Europe/Berlin", "de-DE", "60", "+4915", 1.0),
    Place("Paris", "Île-de-France", "FR", "Europe/Paris", "fr-FR", "75", "+336", 4.0),
    Place("Lyon", "Auvergne-Rhône-Alpes", "FR", "Europe/Paris", "fr-FR", "69", "+336", 1.5),
    Place(
        "Marseille", "Provence-Alpes-Côte d'Azur", "FR", "Europe/Paris", "fr-FR", "13", "+336", 1.2
    ),
    Place("Toulouse", "Occitanie", "FR", "Europe/Paris", "fr-FR", "31", "+336", 0.8),
    Place("Bordeaux", "Nouvelle-Aquitaine", "FR", "Europe/Paris", "fr-FR", "33", "+336", 0.8),
    Place("Toronto", "ON", "CA", "America/Toronto", "en-CA", "M5", "+1416", 3.5),
    Place("Ottawa", "ON", "CA", "America/Toronto", "en-CA", "K1", "+1613", 1.2),
    Place("Montreal", "QC", "CA", "America/Toronto", "fr-CA", "H2", "+1514", 2.3),
    Place("Vancouver", "BC", "CA", "America/Vancouver", "en-CA", "V6", "+1604", 2.0),
    Place("Sydney", "NSW", "AU", "Australia/Sydney", "en-AU", "20", "+614", 3.0),
    Place("Melbourne", "VIC", "AU", "Australia/Melbourne", "en-AU", "30", "+614", 2.5),
    Place("Brisbane", "QLD", "AU", "Australia/Brisbane", "en-AU", "40", "+614", 1.2),
)

LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
SUBSCRIBER_DIGITS = {"GB": 9, "DE": 9, "FR": 8, "AU": 8}


def postal_code(place: Place, seed: int) -> str:
    """Return a postal code in `place`'s national format, varied by `seed`."""
    country, prefix = place.country, place.postal
    if country == "US":
        return f"{prefix}{seed % 100:02d}"
    if country == "GB":
        district = seed % 9 + 1
        letters = LETTERS[seed // 9 % 20] + LETTERS[seed // 180 % 20]
        return f"{prefix}{district} {seed // 3600 % 9 + 1}{letters}"
    if country == "CA":
        unit = f"{seed // 20 % 10}{LETTERS[seed // 200 % 20]}{seed // 4000 % 10}"
        return f"{prefix}{LETTERS[seed % 20]} {unit}"
    if country == "AU":
        return f"{prefix}{seed % 100:02d}"
    return f"{prefix}{seed % 1000:03d}"


def _scramble(value: int, bits: int, limit: int) -> int:
    # Xor-shifts and odd multipliers permute [0, 2**bits); walking the cycle until the value
    # falls below `limit` keeps the map a permutation of [0, limit).
    mask = (1 << bits) - 1
    while True:
        for multiplier in (0x2C1B3C6D, 0x297A2D39):
            value = (value + 0x5BD1E995) & mask
            value ^= value >> (bits // 2)
            value = (value * multiplier) & mask
        if value < limit:
            return value


def phone_number(place: Place, serial: int) -> str:
    """Return an E.164 mobile number in `place`; distinct serials never collide."""
    if place.dial.startswith("+1"):
        return f"{place.dial}{2_000_000 + _scramble(serial, 23, 8_000_000)}"
    limit = 10 ** SUBSCRIBER_DIGITS[place.country]
    local = _scramble(serial, limit.bit_length(), limit)
    return f"{place.dial}{local:0{SUBSCRIBER_DIGITS[place.country]}d}"
