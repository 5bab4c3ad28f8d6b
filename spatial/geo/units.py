"""Area and length units used in Chinese planning reports."""

from __future__ import annotations

M2_PER_UNIT: dict[str, float] = {
    "m2": 1.0,
    "ha": 10_000.0,  # 公顷
    "mu": 10_000.0 / 15.0,  # 亩: 15 mu = 1 ha exactly
    "km2": 1_000_000.0,
}

UNIT_LABELS: dict[str, str] = {
    "m2": "平方米 m²",
    "ha": "公顷 ha",
    "mu": "亩 mu",
    "km2": "平方千米 km²",
}


def convert_area(value_m2: float, unit: str) -> float:
    """Convert an area in m² to ``unit`` (one of m2, ha, mu, km2)."""
    try:
        return value_m2 / M2_PER_UNIT[unit]
    except KeyError:
        raise ValueError(f"unknown area unit {unit!r}; use one of {', '.join(M2_PER_UNIT)}") from None


def to_m2(value: float, unit: str) -> float:
    """Convert an area given in ``unit`` to m²."""
    try:
        return value * M2_PER_UNIT[unit]
    except KeyError:
        raise ValueError(f"unknown area unit {unit!r}; use one of {', '.join(M2_PER_UNIT)}") from None
