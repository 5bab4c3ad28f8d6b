"""Self-contained HTML: every script and style sheet the map links is replaced by the vendored copy of the
same package and version (maps/vendor, taken from the npm tarballs, see maps/vendor/VENDOR.md), inlined, with
the images its CSS refers to as data: URIs. Anything left that would reach the network is an error."""

from __future__ import annotations

import base64
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from spatial.errors import OfflineError

VENDOR = Path(__file__).resolve().parent / "vendor"


@dataclass(frozen=True)
class Vendored:
    package: str
    version: str
    licence: str
    path: str   # relative to maps/vendor


# (URL pattern, vendored file). Patterns name the package and version, whichever CDN the URL points at,
# so a folium upgrade that moves a plugin to another version fails loudly instead of inlining a mismatch.
_RULES: list[tuple[re.Pattern[str], Vendored]] = [
    (re.compile(r"leaflet@1\.9\.[34]/dist/leaflet\.js$"), Vendored("leaflet", "1.9.4", "BSD-2-Clause", "leaflet/dist/leaflet.js")),
    (re.compile(r"leaflet@1\.9\.[34]/dist/leaflet\.css$"), Vendored("leaflet", "1.9.4", "BSD-2-Clause", "leaflet/dist/leaflet.css")),
    (re.compile(r"leaflet\.fullscreen@3\.0\.0/Control\.FullScreen(\.min)?\.js$"),
     Vendored("leaflet.fullscreen", "3.0.0", "MIT", "leaflet.fullscreen/Control.FullScreen.js")),
    (re.compile(r"leaflet\.fullscreen@3\.0\.0/Control\.FullScreen\.css$"),
     Vendored("leaflet.fullscreen", "3.0.0", "MIT", "leaflet.fullscreen/Control.FullScreen.css")),
    (re.compile(r"leaflet-measure@2\.1\.7/dist/leaflet-measure(\.min)?\.js$"),
     Vendored("leaflet-measure", "2.1.7", "MIT", "leaflet-measure/dist/leaflet-measure.min.js")),
    (re.compile(r"leaflet-measure@2\.1\.7/dist/leaflet-measure(\.min)?\.css$"),
     Vendored("leaflet-measure", "2.1.7", "MIT", "leaflet-measure/dist/leaflet-measure.css")),
    (re.compile(r"leaflet-minimap(@|/)3\.6\.1/(dist/)?Control\.MiniMap(\.min)?\.js$"),
     Vendored("leaflet-minimap", "3.6.1", "BSD-2-Clause", "leaflet-minimap/dist/Control.MiniMap.min.js")),
    (re.compile(r"leaflet-minimap(@|/)3\.6\.1/(dist/)?Control\.MiniMap(\.min)?\.css$"),
     Vendored("leaflet-minimap", "3.6.1", "BSD-2-Clause", "leaflet-minimap/dist/Control.MiniMap.min.css")),
]

_SCRIPT = re.compile(r'<script\s+src="([^"]+)"\s*>\s*</script>', re.I)
_LINK = re.compile(r'<link\s+rel="stylesheet"\s+href="([^"]+)"\s*/?>', re.I)
_CSS_URL = re.compile(r"url\((['\"]?)([^)'\"]+)\1\)")
# What would make the browser fetch something: a src/href on a resource element, a CSS url(), an import.
_EXTERNAL = re.compile(r"""(<(?:script|link|img|iframe|source|video|audio|embed)\b[^>]*?\b(?:src|href)\s*=\s*["']?"""
                       r"""(?:https?:)?//[^"'\s>]+)|(url\(\s*["']?(?:https?:)?//[^)]+\))|(@import\s)""", re.I)


def vendored_for(url: str) -> Vendored | None:
    for pattern, vendored in _RULES:
        if pattern.search(url):
            return vendored
    return None


# CDN folders of the vendored packages (for the images their style sheets load relative to themselves).
_PACKAGE_DIRS = [
    (re.compile(r"/leaflet@1\.9\.4/(.+)$"), "leaflet"),
    (re.compile(r"/leaflet\.fullscreen@3\.0\.0/(.+)$"), "leaflet.fullscreen"),
    (re.compile(r"/leaflet-measure@2\.1\.7/(.+)$"), "leaflet-measure"),
    (re.compile(r"/leaflet-minimap@3\.6\.1/(.+)$"), "leaflet-minimap"),
]


def vendored_file(url: str) -> Path | None:
    """The vendored file that stands for a CDN URL (tests serve these to the browser for online maps)."""
    v = vendored_for(url)
    if v is not None:
        return VENDOR / v.path
    for pattern, folder in _PACKAGE_DIRS:
        m = pattern.search(url.split("?")[0])
        if m:
            path = (VENDOR / folder / m.group(1)).resolve()
            if path.is_file() and VENDOR in path.parents:
                return path
    return None


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".svg":
        mime = "image/svg+xml"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def inline_css(path: Path) -> str:
    """A vendored style sheet with its relative url(...) images turned into data: URIs."""
    css = path.read_text(encoding="utf-8")

    def repl(m: re.Match[str]) -> str:
        ref = m.group(2).strip()
        if ref.startswith(("data:", "#")):
            return m.group(0)
        target = (path.parent / ref.split("?")[0].split("#")[0]).resolve()
        if not target.is_file() or VENDOR not in target.parents:
            raise OfflineError(f"{path}: url({ref}) has no vendored file; add it to maps/vendor/update.sh")
        return f'url("{_data_uri(target)}")'

    return _CSS_URL.sub(repl, css)


def _header(v: Vendored) -> str:
    return (f"/* {v.package} {v.version} ({v.licence}), vendored from the npm package {v.package}@{v.version}; "
            f"licence text in maps/vendor/{v.path.split('/')[0]}/ */\n")


def _default_icon_js() -> str:
    """Leaflet finds its default marker images through a CSS url(); inlined as data: URIs that lookup fails, and
    plugins that make a plain L.marker (the measuring tool) would ask for marker-icon.png beside the page."""
    img = VENDOR / "leaflet" / "dist" / "images"
    return ("\n/* offline: default marker images as data: URIs */\nL.Icon.Default.mergeOptions({imagePath: '', "
            f"iconUrl: '{_data_uri(img / 'marker-icon.png')}', iconRetinaUrl: '{_data_uri(img / 'marker-icon-2x.png')}', "
            f"shadowUrl: '{_data_uri(img / 'marker-shadow.png')}'}});\n")


def make_offline(page: str) -> str:
    """Inline every linked script and style sheet from maps/vendor; raise if anything external remains."""
    def script(m: re.Match[str]) -> str:
        v = vendored_for(m.group(1))
        if v is None:
            raise OfflineError(f"no vendored copy of {m.group(1)}; vendor it in maps/vendor (update.sh) "
                               f"and map it in maps/offline.py, or drop the plugin from the offline map")
        js = (VENDOR / v.path).read_text(encoding="utf-8").replace("</script", "<\\/script")
        if v.path.endswith("leaflet/dist/leaflet.js"):
            js += _default_icon_js()
        return f"<script>{_header(v)}{js}\n</script>"

    def link(m: re.Match[str]) -> str:
        v = vendored_for(m.group(1))
        if v is None:
            raise OfflineError(f"no vendored copy of {m.group(1)}; vendor it in maps/vendor (update.sh) "
                               f"and map it in maps/offline.py, or drop it from the offline map")
        css = inline_css(VENDOR / v.path).replace("</style", "<\\/style")
        return f"<style>{_header(v)}{css}\n</style>"

    out = _LINK.sub(link, _SCRIPT.sub(script, page))
    left = external_references(out)
    if left:
        raise OfflineError("the offline map still refers to the network: " + "; ".join(left[:5]))
    return out


def external_references(page: str) -> list[str]:
    """Places in an HTML page that would make a browser fetch something from the network."""
    return [next(g for g in m.groups() if g)[:160] for m in _EXTERNAL.finditer(page)]
