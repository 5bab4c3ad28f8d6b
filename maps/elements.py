"""Folium elements of the planning maps: layers, grouped layer control, legend, title, search, mini-map.

Each element renders plain Leaflet 1.9 code. The helpers in ``PLAN_JS`` (popups built from a per-layer
field list, a layer control that shows the catalogue groups as headings, a name search over every layer)
are defined once per page by :class:`PlanAssets`; they load nothing from the network.
"""

from __future__ import annotations

import html

import json
from typing import Any

from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

# CDN addresses of the plugin files used online; offline they are replaced by the copies in maps/vendor
# (same package and version, see maps/offline.py and maps/vendor/VENDOR.md).
LEAFLET_JS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js"
LEAFLET_CSS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css"
MINIMAP_JS = "https://cdn.jsdelivr.net/npm/leaflet-minimap@3.6.1/dist/Control.MiniMap.min.js"
MINIMAP_CSS = "https://cdn.jsdelivr.net/npm/leaflet-minimap@3.6.1/dist/Control.MiniMap.min.css"


def js_json(obj: Any) -> str:
    """Compact JSON safe inside a <script> element (keeps Chinese as UTF-8, escapes '<' so no '</script>')."""
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


PLAN_CSS = """
.pm-title{position:absolute;top:10px;left:50%;transform:translateX(-50%);z-index:1000;background:rgba(255,255,255,.92);
 padding:6px 14px;border-radius:6px;box-shadow:0 1px 5px rgba(0,0,0,.35);text-align:center;pointer-events:none;
 font:600 16px/1.35 "Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;color:#222;max-width:60%}
.pm-title .pm-sub{display:block;font-weight:400;font-size:12px;color:#555}
.pm-title .pm-warn{display:block;font-weight:600;font-size:12px;color:#b2182b}
.leaflet-container{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif}
.leaflet-container.pm-nobase{background:#f3f1ea}
.pm-legend{background:rgba(255,255,255,.94);padding:6px 10px;border-radius:6px;box-shadow:0 1px 5px rgba(0,0,0,.35);
 font-size:12px;line-height:1.3;max-height:56vh;overflow-y:auto;max-width:300px;color:#222}
.pm-legend summary{font-weight:700;font-size:13px;cursor:pointer;margin-bottom:2px}
.pm-legend .pm-lg-group{font-weight:700;margin:6px 0 2px;color:#444;border-bottom:1px solid #ddd}
.pm-legend .pm-lg-item{display:flex;align-items:center;gap:6px;margin:2px 0}
.pm-legend .pm-lg-sub{margin-left:22px}
.pm-legend .pm-sw{flex:0 0 auto;display:inline-block;width:16px;height:12px;border:1.5px solid #555;box-sizing:border-box}
.pm-legend .pm-sw-line{height:0;border-width:0;border-top-style:solid;margin:6px 0}
.pm-legend .pm-sw-point{width:12px;height:12px;border-radius:50%;margin:0 2px}
.pm-legend .pm-illus-tag{color:#b2182b;font-size:11px;white-space:nowrap}
.pm-legend .pm-pattern{margin:4px 0 6px;padding:5px 7px;background:#eef6ee;border-left:4px solid #31a354}
.pm-legend .pm-pattern b{font-size:14px;color:#00441b}
.pm-legend .pm-note{margin-top:6px;color:#555;font-size:11px;border-top:1px solid #ddd;padding-top:4px}
.pm-legend .pm-alert{color:#b2182b;font-weight:600}
.pm-popup{font-size:12px;max-width:440px}
.pm-popup-kind{color:#666;font-size:11px}
.pm-popup-title{font-weight:700;font-size:14px;margin:2px 0 4px}
.pm-illus{display:inline-block;background:#fde0dd;color:#b2182b;font-weight:600;padding:1px 6px;border-radius:3px;margin-bottom:4px}
.pm-table{border-collapse:collapse;margin-top:2px}
.pm-table th,.pm-table td{border:1px solid #ddd;padding:2px 5px;vertical-align:top;text-align:left}
.pm-table th{background:#f3f6f3;font-weight:600;white-space:nowrap}
.pm-verdict-prohibited{color:#d7191c;font-weight:700}.pm-verdict-needs_approval{color:#c8590b;font-weight:700}
.pm-verdict-allowed{color:#1a9641;font-weight:700}.pm-verdict-no_conflict{color:#666}
.pm-lc-group{font-weight:700;font-size:12px;color:#333;margin:6px 0 2px;border-bottom:1px solid #ddd}
.pm-lc-group:first-child{margin-top:0}
.leaflet-control-layers{font-size:12px;line-height:1.3}
.leaflet-control-layers-expanded{max-height:62vh;overflow-y:auto;padding:6px 8px 6px 6px}
.leaflet-control-layers label{margin:1px 0}
.leaflet-control-layers-selector{margin:1px 4px 1px 2px;vertical-align:-2px}
.pm-search{background:#fff;padding:2px}
.pm-search input{width:190px;border:0;padding:5px 6px;font-size:13px;outline:none}
.pm-search.pm-notfound input{background:#fde0dd}
.pm-tip{font-size:12px}
.leaflet-tooltip.pm-label{background:rgba(255,255,255,.75);border:0;box-shadow:none;padding:0 3px;font-size:11px;
 font-weight:600;color:#00441b}
.leaflet-tooltip.pm-label:before{display:none}
"""

PLAN_JS = r"""
var PlanMap = window.PlanMap || (function () {
  "use strict";
  var registry = [];
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function popupHtml(meta, p) {
    if (p._html) { return p._html; }
    var h = '<div class="pm-popup"><div class="pm-popup-kind">' + esc(meta.label) + '</div>';
    h += '<div class="pm-popup-title">' + esc(p._label || '') + '</div>';
    if (p._illus) { h += '<div class="pm-illus">示意数据 illustrative · 非官方数据 not official</div>'; }
    var rows = '';
    for (var i = 0; i < meta.fields.length; i++) {
      var f = meta.fields[i], v = p[f[0]];
      if (v === undefined || v === null || v === '') { continue; }
      rows += '<tr><th>' + esc(f[1]) + '</th><td>' + esc(v) + '</td></tr>';
    }
    if (rows) { h += '<table class="pm-table">' + rows + '</table>'; }
    return h + '</div>';
  }
  function styleOf(styles, meta, f) {
    var s = styles[(f && f.properties && f.properties._s) || 0] || styles[0];
    return L.extend({}, s, {pane: meta.pane, className: 'pm-f ' + meta.className});
  }
  function layer(meta, styles, data) {
    var group = L.geoJSON(null, {
      pane: meta.pane, className: 'pm-f ' + meta.className,
      group: meta.group, order: meta.order, kind: meta.kind,
      style: function (f) { return styleOf(styles, meta, f); },
      pointToLayer: function (f, ll) { return L.circleMarker(ll, styleOf(styles, meta, f)); },
      onEachFeature: function (f, l) {
        var p = f.properties || {};
        l.bindPopup(function () { return popupHtml(meta, p); }, {maxWidth: 460, maxHeight: 420});
        if (p._label && meta.labels) {
          l.bindTooltip(esc(p._label), {permanent: true, direction: 'center', className: 'pm-label', opacity: 0.9});
        } else if (p._label) {
          l.bindTooltip(esc(p._label), {sticky: true, className: 'pm-tip'});
        }
        l.on('mouseover', function () { if (l.setStyle) { l.setStyle({weight: (styleOf(styles, meta, f).weight || 1) + 2}); } });
        l.on('mouseout', function () { if (l.setStyle) { group.resetStyle(l); } });
        if (meta.searchable !== false && p._label) {
          registry.push({text: p._label, kind: meta.short, layer: l, parent: group});
        }
      }
    });
    group.addData(data);
    return group;
  }
  function panes(map, list) {
    for (var i = 0; i < list.length; i++) {
      if (!map.getPane(list[i][0])) { map.createPane(list[i][0]).style.zIndex = list[i][1]; }
    }
  }
  // Layer control with the catalogue groups as headings, layers in catalogue order.
  var GroupedLayers = L.Control.Layers.extend({
    _update: function () {
      this._pmGroup = null;
      return L.Control.Layers.prototype._update.call(this);
    },
    _addItem: function (obj) {
      var g = obj.overlay && obj.layer.options && obj.layer.options.group;
      if (g && g !== this._pmGroup) {
        this._pmGroup = g;
        var h = L.DomUtil.create('div', 'pm-lc-group', this._overlaysList);
        h.textContent = g;
      }
      var label = L.Control.Layers.prototype._addItem.call(this, obj);
      if (obj.layer.options && obj.layer.options.kind) { label.setAttribute('data-kind', obj.layer.options.kind); }
      return label;
    }
  });
  function layerControl(map, base, overlays, options) {
    options = L.extend({sortLayers: true, sortFunction: function (a, b, na, nb) {
      var oa = (a.options && a.options.order) || 0, ob = (b.options && b.options.order) || 0;
      return oa - ob || (na < nb ? -1 : (nb < na ? 1 : 0));
    }}, options || {});
    if (options.collapsed === 'auto') { options.collapsed = small(map); }
    return new GroupedLayers(base, overlays, options).addTo(map);
  }
  function small(map) { var z = map.getSize(); return z.x < 900 || z.y < 560; }
  var Box = L.Control.extend({
    options: {position: 'bottomleft', html: '', className: ''},
    onAdd: function (map) {
      this._map = map;
      var d = L.DomUtil.create('div', 'leaflet-control ' + this.options.className);
      d.innerHTML = this.options.html;
      if (this.options.autoCollapse && small(this._map || this.options.map)) {
        var det = d.querySelector('details');
        if (det) { det.removeAttribute('open'); }
      }
      L.DomEvent.disableClickPropagation(d);
      L.DomEvent.disableScrollPropagation(d);
      return d;
    }
  });
  function box(map, options) { return new Box(options).addTo(map); }
  function title(map, html) {
    var d = L.DomUtil.create('div', 'pm-title', map.getContainer());
    d.innerHTML = html;
    return d;
  }
  function entryText(e) { return e.text + ' · ' + e.kind; }
  function find(q) {
    q = (q || '').trim().toLowerCase();
    if (!q) { return null; }
    var i;
    for (i = 0; i < registry.length; i++) { if (entryText(registry[i]).toLowerCase() === q) { return registry[i]; } }
    for (i = 0; i < registry.length; i++) { if (registry[i].text.toLowerCase() === q) { return registry[i]; } }
    for (i = 0; i < registry.length; i++) { if (entryText(registry[i]).toLowerCase().indexOf(q) >= 0) { return registry[i]; } }
    return null;
  }
  function go(map, q) {
    var e = find(q);
    if (!e) { return false; }
    if (!map.hasLayer(e.parent)) { map.addLayer(e.parent); }
    if (e.layer.getBounds) { map.fitBounds(e.layer.getBounds(), {maxZoom: 15, padding: [30, 30]}); }
    else if (e.layer.getLatLng) { map.setView(e.layer.getLatLng(), Math.max(map.getZoom(), 14)); }
    e.layer.openPopup();
    return true;
  }
  var Search = L.Control.extend({
    options: {position: 'topleft', placeholder: '搜索名称 Search names'},
    onAdd: function (map) {
      var c = L.DomUtil.create('div', 'leaflet-bar pm-search');
      var input = L.DomUtil.create('input', 'pm-search-input', c);
      var listId = 'pm-search-list-' + L.stamp(this);
      input.type = 'search';
      input.placeholder = this.options.placeholder;
      input.title = this.options.placeholder;
      input.setAttribute('list', listId);
      input.setAttribute('aria-label', this.options.placeholder);
      var list = L.DomUtil.create('datalist', '', c);
      list.id = listId;
      function fill() {
        if (list.childNodes.length) { return; }
        for (var i = 0; i < registry.length; i++) {
          var o = document.createElement('option');
          o.value = entryText(registry[i]);
          list.appendChild(o);
        }
      }
      function run() {
        var ok = go(map, input.value);
        if (ok) { L.DomUtil.removeClass(c, 'pm-notfound'); } else if (input.value) { L.DomUtil.addClass(c, 'pm-notfound'); }
      }
      L.DomEvent.disableClickPropagation(c);
      L.DomEvent.disableScrollPropagation(c);
      L.DomEvent.on(input, 'focus', fill);
      L.DomEvent.on(input, 'change', run);
      L.DomEvent.on(input, 'keydown', function (ev) { if (ev.key === 'Enter') { run(); } });
      fill();
      return c;
    }
  });
  function search(map, options) { return new Search(options).addTo(map); }
  // Fit the territory into the part of the map the controls leave free (title above, layer list right).
  function fit(map, bounds) {
    var size = map.getSize(), c = map.getContainer();
    if (small(map)) { map.fitBounds(bounds, {padding: [12, 12]}); return; }
    function width(sel) { var e = c.querySelector(sel); return e ? e.offsetWidth : 0; }
    var right = Math.min(width('.leaflet-control-layers') + 16, size.x * 0.35);
    var left = Math.min(Math.max(60, width('.pm-legend') + 12), size.x * 0.3);
    map.fitBounds(bounds, {paddingTopLeft: [left, 80], paddingBottomRight: [right, 24]});
  }
  return {layer: layer, panes: panes, layerControl: layerControl, box: box, title: title, search: search, fit: fit,
          find: find, go: go, registry: registry, esc: esc};
})();
window.PlanMap = PlanMap;
"""


class PlanAssets(MacroElement):
    """The CSS and the PlanMap helpers, plus the panes that keep points above lines above polygons."""

    _template = Template("""
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        {{ this.js }}
        PlanMap.panes({{ this._parent.get_name() }}, {{ this.panes_json }});
        {%- if this.no_base %}
        L.DomUtil.addClass({{ this._parent.get_name() }}.getContainer(), 'pm-nobase');
        {%- endif %}
        {%- for text in this.attributions %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ text|tojson }});
        {%- endfor %}
        {% endmacro %}
    """)

    def __init__(self, panes: list[tuple[str, int]], *, no_base: bool = False, attributions: list[str] | None = None):
        super().__init__()
        self._name = "PlanAssets"
        self.css = PLAN_CSS
        self.js = PLAN_JS
        self.panes_json = js_json([list(p) for p in panes])
        self.no_base = no_base
        self.attributions = attributions or []


class PlanLayer(Layer):
    """One planning layer: a Leaflet GeoJSON layer with styles, popups and tooltips; one entry in the layer control."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = PlanMap.layer({{ this.meta_json }}, {{ this.styles_json }}, {{ this.data_json }});
        {% endmacro %}
    """)

    def __init__(self, name: str, meta: dict[str, Any], styles: list[dict[str, Any]], data: dict[str, Any],
                 *, show: bool = True, control: bool = True):
        # Leaflet's layer control sets a layer's name as innerHTML; names come from the catalogue, a user's file
        super().__init__(name=html.escape(name), overlay=True, control=control, show=show)
        self._name = "PlanLayer"
        self.meta = meta
        self.styles = styles
        self.data = data
        self.meta_json = js_json(meta)
        self.styles_json = js_json(styles)
        self.data_json = js_json(data)


class TileBase(Layer):
    """A basemap: one tile layer, or a group of tile layers (e.g. Tianditu imagery + its annotation)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.layerGroup([
        {%- for t in this.tiles %}
            L.tileLayer({{ t.url|tojson }}, {{ t.options|tojson }}),
        {%- endfor %}
        ]);
        {% endmacro %}
    """)

    def __init__(self, name: str, tiles: list[dict[str, Any]], *, show: bool = True):
        super().__init__(name=name, overlay=False, control=True, show=show)
        self._name = "TileBase"
        self.tiles = tiles


class PlanLayerControl(MacroElement):
    """Leaflet's layer control, with catalogue groups as headings (add it after every layer).

    ``collapsed="auto"``: open on a large map, folded into its button on a small one (e.g. inside a report)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = PlanMap.layerControl({{ this._parent.get_name() }}, {
            {%- for key, val in this.base_layers %}
            {{ key|tojson }}: {{ val }},
            {%- endfor %}
        }, {
            {%- for key, val in this.overlays %}
            {{ key|tojson }}: {{ val }},
            {%- endfor %}
        }, {{ this.options|tojson }});
        {% endmacro %}
    """)

    def __init__(self, *, position: str = "topright", collapsed: bool | str = "auto"):
        super().__init__()
        self._name = "PlanLayerControl"
        self.options = {"position": position, "collapsed": collapsed}
        self.base_layers: list[tuple[str, str]] = []
        self.overlays: list[tuple[str, str]] = []

    def render(self, **kwargs):
        self.base_layers, self.overlays = [], []
        for item in self._parent._children.values():
            if isinstance(item, Layer) and item.control:
                (self.overlays if item.overlay else self.base_layers).append((item.layer_name, item.get_name()))
        super().render(**kwargs)


class PlanBox(MacroElement):
    """A fixed HTML box as a Leaflet control (the legend)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = PlanMap.box({{ this._parent.get_name() }}, {{ this.options_json }});
        {% endmacro %}
    """)

    def __init__(self, html: str, *, position: str = "bottomleft", class_name: str = "pm-legend"):
        super().__init__()
        self._name = "PlanBox"
        self.options_json = js_json({"html": html, "position": position, "className": class_name,
                                     "autoCollapse": True})


class PlanTitle(MacroElement):
    _template = Template("""
        {% macro script(this, kwargs) %}
        PlanMap.title({{ this._parent.get_name() }}, {{ this.html_json }});
        {% endmacro %}
    """)

    def __init__(self, html: str):
        super().__init__()
        self._name = "PlanTitle"
        self.html_json = js_json(html)


class PlanSearch(MacroElement):
    """Search every layer's features by name (Chinese or English), fly there and open the popup."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = PlanMap.search({{ this._parent.get_name() }}, {{ this.options_json }});
        {% endmacro %}
    """)

    def __init__(self, *, position: str = "topleft", placeholder: str = "搜索名称 Search names"):
        super().__init__()
        self._name = "PlanSearch"
        self.options_json = js_json({"position": position, "placeholder": placeholder})


class PlanScale(MacroElement):
    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, maxWidth: 160, position: {{ this.position|tojson }}})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, position: str = "bottomleft"):
        super().__init__()
        self._name = "PlanScale"
        self.position = position


class PlanMiniMap(JSCSSMixin, MacroElement):
    """Leaflet-MiniMap over the basemap tiles, or, without a basemap, over the territory outline."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {%- if this.tiles %}
        var {{ this.get_name() }}_layer = L.layerGroup([
        {%- for t in this.tiles %}
            L.tileLayer({{ t.url|tojson }}, {{ t.options|tojson }}),
        {%- endfor %}
        ]);
        {%- else %}
        var {{ this.get_name() }}_layer = L.geoJSON({{ this.outline_json }}, {
            interactive: false, className: 'pm-minimap-outline',
            style: function () { return {color: '#555', weight: 1, fillColor: '#bcd9b0', fillOpacity: 0.6}; }
        });
        {%- endif %}
        var {{ this.get_name() }}_opts = {{ this.options|tojson }};
        {{ this.get_name() }}_opts.minimized = {{ this._parent.get_name() }}.getSize().x < 900;
        var {{ this.get_name() }} = new L.Control.MiniMap({{ this.get_name() }}_layer, {{ this.get_name() }}_opts)
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    default_js = [("Control_MiniMap_js", MINIMAP_JS)]
    default_css = [("Control_MiniMap_css", MINIMAP_CSS)]

    def __init__(self, *, tiles: list[dict[str, Any]] | None = None, outline: dict[str, Any] | None = None,
                 position: str = "bottomright", width: int = 150, height: int = 150, zoom_offset: int = -4):
        super().__init__()
        self._name = "PlanMiniMap"
        self.tiles = tiles or []
        self.outline_json = js_json(outline or {"type": "FeatureCollection", "features": []})
        self.options = {"position": position, "width": width, "height": height, "zoomLevelOffset": zoom_offset,
                        "toggleDisplay": True, "strings": {"hideText": "隐藏小地图 Hide mini-map",
                                                           "showText": "显示小地图 Show mini-map"}}


class PlanFit(MacroElement):
    """Fit the map to bounds, leaving room for the title and the layer control (add it last)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        PlanMap.fit({{ this._parent.get_name() }}, L.latLngBounds({{ this.bounds_json }}));
        {% endmacro %}
    """)

    def __init__(self, bounds: list[list[float]]):
        super().__init__()
        self._name = "PlanFit"
        self.bounds_json = js_json(bounds)
