"""The bilingual legend (plain HTML and CSS, no images): one swatch per layer, grouped as in the catalogue."""

from __future__ import annotations

import html
from typing import Any, Iterable

from maps.layers import MapLayer

ILLUS_TAG = '<span class="pm-illus-tag">※示意 illustrative</span>'


def _css(value: Any) -> str:
    """A style value for a style="" attribute: a catalogue's colour is a user's text and must not close it."""
    return html.escape(str(value), quote=True).replace(";", "")


def swatch(style: dict[str, Any], geometry: str) -> str:
    colour = _css(style.get("color", "#3388ff"))
    if geometry == "line":
        dash = "dashed" if style.get("dashArray") else "solid"
        width = max(2, min(6, int(round(float(style.get("weight", 2))))))
        return (f'<span class="pm-sw pm-sw-line" style="border-top:{width}px {dash} {colour};'
                f'opacity:{_css(style.get("opacity", 1))}"></span>')
    fill = _css(style.get("fillColor", colour)) if style.get("fill", True) else "transparent"
    opacity = float(style.get("fillOpacity", 0.3)) if style.get("fill", True) else 0.0
    # the fill is drawn as an rgba so the border keeps full strength
    rgba = _rgba(fill, opacity) if fill != "transparent" else "transparent"
    border = "dashed" if style.get("dashArray") else "solid"
    cls = "pm-sw pm-sw-point" if geometry == "point" else "pm-sw"
    return f'<span class="{cls}" style="background:{rgba};border:2px {border} {colour}"></span>'


def _rgba(colour: str, opacity: float) -> str:
    h = colour.lstrip("#")
    if len(h) != 6:
        return colour
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{max(opacity, 0.15):.2f})"


def item(label: str, style: dict[str, Any], geometry: str, *, sub: bool = False, tag: str = "") -> str:
    cls = "pm-lg-item pm-lg-sub" if sub else "pm-lg-item"
    return f'<div class="{cls}">{swatch(style, geometry)}<span>{html.escape(label)}{(" " + tag) if tag else ""}</span></div>'


def legend_html(
    layers: Iterable[MapLayer],
    *,
    title: str = "图例 Legend",
    head_html: str = "",
    extra_html: str = "",
    notes: Iterable[str] = (),
    open_: bool = True,
) -> str:
    """Legend HTML: ``head_html`` first (e.g. the pattern's name), then layers by group, ``extra_html``, notes."""
    parts = [f'<details{" open" if open_ else ""}><summary>{html.escape(title)}</summary>', head_html]
    group = None
    for lyr in layers:
        if lyr.group != group:
            group = lyr.group
            if group:
                parts.append(f'<div class="pm-lg-group">{html.escape(group)}</div>')
        parts.append(item(lyr.label, lyr.styles[0], lyr.geometry, tag=ILLUS_TAG if lyr.illustrative else ""))
        for sub_label, sub_style in lyr.legend_items:
            parts.append(item(sub_label, sub_style, lyr.geometry, sub=True))
    parts.append(extra_html)
    note_list = [n for n in notes if n]
    if note_list:
        parts.append('<div class="pm-note">' + "<br>".join(note_list) + "</div>")
    parts.append("</details>")
    return "".join(parts)
