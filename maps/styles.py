"""Map styles from the layer catalogue (layers/catalog.toml): Leaflet path options per kind and per feature.

The catalogue's ``style`` table uses snake_case keys (``fill_color``, ``fill_opacity``, ``dash_array``);
Leaflet wants camelCase. Mines are coloured by ``status_styles`` (keyed by the value of ``status_field``),
strategic zones by their ``palette`` (one colour per feature, in order). Nothing here computes data.
"""

from __future__ import annotations

from typing import Any, Iterable

import pandas as pd

from spatial.rules.catalog import LayerKind, bundled_catalog

# Check verdicts (spatial.analysis.check): prohibited red, needs approval orange, allowed green, no conflict grey.
VERDICT_COLOURS = {
    "prohibited": "#d7191c",
    "needs_approval": "#f28e2b",
    "allowed": "#1a9641",
    "no_conflict": "#8c8c8c",
}

_KEYS = {
    "color": "color",
    "fill_color": "fillColor",
    "fill_opacity": "fillOpacity",
    "weight": "weight",
    "opacity": "opacity",
    "dash_array": "dashArray",
    "radius": "radius",
    "line_cap": "lineCap",
    "line_join": "lineJoin",
}

# Drawing order (bottom to top) and default visibility. Layers that tile the territory would hide
# everything under their fill, so they start switched off (one click in the layer control shows them).
Z_ORDER = [
    "strategic_zone", "ecological_space", "agricultural_space", "urban_space",
    "permanent_farmland", "ecological_redline", "urban_boundary",
    "national_park", "nature_reserve", "forest_park", "wetland_park", "geopark", "scenic_area",
    "water_source_zone", "eco_source", "mine_site",
    "admin_city", "admin_county", "admin_township",
    "river", "eco_corridor", "eco_node",
]
HIDDEN_BY_DEFAULT = {"strategic_zone", "ecological_space", "agricultural_space", "urban_space"}

# Leaflet panes (z-index) so that lines and points stay above polygons whatever is toggled.
PANES = {"polygon": ("pm-polygons", 405), "outline": ("pm-outlines", 410), "line": ("pm-lines", 415),
         "point": ("pm-points", 420), "check": ("pm-check", 430), "pieces": ("pm-pieces", 435)}


def z_rank(kind_id: str) -> int:
    return Z_ORDER.index(kind_id) if kind_id in Z_ORDER else len(Z_ORDER)


def css_class(kind_id: str) -> str:
    """The class every SVG path of a layer carries (``pm-f pm-k-<kind>``); tests count features by it."""
    return f"pm-k-{kind_id}"


def base_style(kind: LayerKind | None, geometry: str, raw: dict[str, Any] | None = None) -> dict[str, Any]:
    """Leaflet path options for a kind from its catalogue style."""
    raw = dict(raw if raw is not None else (kind.style if kind else {}))
    raw.pop("palette", None)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _KEYS:
            out[_KEYS[key]] = value
    out.setdefault("color", "#3388ff")
    out.setdefault("weight", 1.5)
    if geometry == "line":
        out["fill"] = False
        out.setdefault("opacity", 0.9)
    elif geometry == "point":
        out.setdefault("radius", 6)
        out.setdefault("fillColor", out["color"])
        out.setdefault("fillOpacity", 0.9)
        out["fill"] = True
    else:
        out.setdefault("fillColor", out["color"])
        out.setdefault("fillOpacity", 0.3)
        # An outline-only polygon must not catch clicks over its inside (it would hide the layers below).
        out["fill"] = float(out["fillOpacity"]) > 0
    return out


def geometry_family(kind: LayerKind | None, geom_types: Iterable[str]) -> str:
    """point | line | polygon: the catalogue's word when given, else what the data hold."""
    if kind is not None and kind.geometry in ("point", "line", "polygon"):
        return kind.geometry
    types = {t for t in geom_types if t}
    if types and types <= {"Point", "MultiPoint"}:
        return "point"
    if types and types <= {"LineString", "MultiLineString", "LinearRing"}:
        return "line"
    return "polygon"


def feature_styles(kind: LayerKind | None, gdf: pd.DataFrame, geometry: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Distinct styles of a layer and, per feature, the index of its style.

    Mines take the colour of their status (``status_styles``), strategic zones one palette colour each.
    """
    base = base_style(kind, geometry)
    if kind is None or len(gdf) == 0:
        return [base], [0] * len(gdf)
    extra = kind.extra or {}
    status_styles = extra.get("status_styles")
    if status_styles:
        field = extra.get("status_field", "status")
        styles = [base]
        index = {}
        for value, colour in status_styles.items():
            index[value] = len(styles)
            # small sites must still read at county scale: a strong rim in the status colour
            styles.append({**base, "fillColor": colour, "color": _darker(colour, 0.8), "fillOpacity": 0.85,
                           "weight": max(float(base.get("weight", 1)), 3.0)})
        values = gdf[field] if field in gdf.columns else pd.Series([None] * len(gdf), index=gdf.index)
        return styles, [index.get(str(v).strip(), 0) if v is not None else 0 for v in values]
    palette = kind.style.get("palette") if kind.style else None
    if palette and geometry == "polygon":
        styles = [{**base, "fillColor": c} for c in palette]
        return styles, [i % len(palette) for i in range(len(gdf))]
    return [base], [0] * len(gdf)


def status_legend(kind: LayerKind) -> list[tuple[str, str]]:
    """(label, colour) per mine status, bilingual."""
    items = []
    for value, colour in (kind.extra or {}).get("status_styles", {}).items():
        en = mine_status_en().get(value)
        items.append((f"{value} {en}" if en else value, colour))
    return items


def verdict_style(verdict: str, geometry: str) -> dict[str, Any]:
    """Projects: fill and a strong rim in the verdict colour (the rim stays readable under overlap pieces)."""
    colour = VERDICT_COLOURS.get(verdict, "#3388ff")
    style: dict[str, Any] = {"color": colour, "fillColor": colour, "weight": 3.5, "opacity": 1.0}
    if geometry == "line":
        style.update(color=colour, weight=5, fill=False)
    elif geometry == "point":
        style.update(radius=8, fillOpacity=0.9, fill=True)
    else:
        style.update(fillOpacity=0.45, fill=True)
    return style


def piece_style(verdict: str, geometry: str) -> dict[str, Any]:
    """Overlap pieces: the verdict of that layer, with a dark dashed rim so they stand out on the project.
    Lines: a wide translucent band in the verdict colour along the stretch inside the layer."""
    colour = VERDICT_COLOURS.get(verdict, "#3388ff")
    if geometry == "line":
        return {"color": colour, "weight": 12, "opacity": 0.45, "lineCap": "butt", "fill": False}
    return {"color": "#3b0a12", "weight": 1.5, "dashArray": "4 3", "fillColor": colour, "fillOpacity": 0.7,
            "fill": True}


def mine_status_en() -> dict[str, str]:
    """English word of each Chinese mine status, from the catalogue's ``[mine_states]`` labels (已修复 restored)."""
    labels = bundled_catalog().mine_states.get("labels", {})
    return dict(label.split(" ", 1) for label in labels.values() if " " in label)


def _darker(hex_colour: str, factor: float = 0.65) -> str:
    h = hex_colour.lstrip("#")
    if len(h) != 6:
        return hex_colour
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return "#{:02x}{:02x}{:02x}".format(*(int(c * factor) for c in (r, g, b)))
