"""Turning a layer (GeoDataFrame in EPSG:4490) into what the map draws: simplified, in the basemap's datum,
coordinates rounded, with labels, popup fields and styles. Nothing here measures or analyses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from maps import popups, styles
from spatial.errors import InputError
from spatial.geo.crs import projected_crs_for
from spatial.geo.gcj02 import transform_geometries
from spatial.rules.catalog import LayerKind
from spatial.sources.names import feature_names

CGCS2000 = "EPSG:4490"
DEFAULT_SIMPLIFY_M = 10.0   # Douglas-Peucker tolerance, metres, in a projected CRS: no vertex moves farther
COORD_DECIMALS = 6          # 1e-6 degree ≈ 0.11 m at Changshan, far below the simplification tolerance


def projected_crs(gdf: gpd.GeoDataFrame) -> CRS:
    """The projected CRS to simplify in: spatial.geo.crs.projected_crs_for (CGCS2000 3-degree Gauss-Krüger) when
    available, else a transverse Mercator on GRS80 centred on the data."""
    try:
        return CRS.from_user_input(projected_crs_for(gdf))
    except Exception:  # pragma: no cover - fall back to the local projection below
        pass
    x0, y0, x1, y1 = gdf.total_bounds
    lon0 = round((x0 + x1) / 2.0, 3) if np.isfinite(x0) else 117.0
    return CRS.from_proj4(f"+proj=tmerc +lat_0=0 +lon_0={lon0} +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs")


def simplify(gdf: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """Douglas-Peucker simplification at ``tolerance_m`` metres in a projected CRS (topology of each feature kept:
    no polygon collapses or self-intersects). Points are left as they are."""
    if tolerance_m is None or tolerance_m <= 0 or len(gdf) == 0:
        return gdf
    geoms = gdf.geometry
    if geoms.geom_type.isin(["Point", "MultiPoint"]).all():
        return gdf
    crs = gdf.crs or CGCS2000
    proj = projected_crs(gdf if gdf.crs is not None else gdf.set_crs(CGCS2000))
    projected = geoms.to_crs(proj) if gdf.crs is not None else geoms.set_crs(crs).to_crs(proj)
    simple = shapely.simplify(projected.values, tolerance_m, preserve_topology=True)
    out = gpd.GeoSeries(simple, index=gdf.index, crs=proj).to_crs(crs)
    return gdf.set_geometry(out.values)


def to_datum(gdf: gpd.GeoDataFrame, datum: str) -> gpd.GeoDataFrame:
    """Geometries in the basemap's datum: as they are for WGS84/CGCS2000, shifted to GCJ-02 for AMap."""
    if datum == "wgs84" or len(gdf) == 0:
        return gdf
    if datum != "gcj02":
        raise ValueError(f"unknown datum {datum!r}")
    return gdf.set_geometry(transform_geometries(gdf.geometry, "to_gcj02").values)


def round_coords(geoms: np.ndarray, decimals: int = COORD_DECIMALS) -> np.ndarray:
    return shapely.transform(np.asarray(geoms, dtype=object), lambda c: np.round(c, decimals))


def display_gdf(gdf: gpd.GeoDataFrame, *, datum: str = "wgs84", simplify_m: float = DEFAULT_SIMPLIFY_M
                ) -> gpd.GeoDataFrame:
    """A layer as drawn: EPSG:4490, non-empty geometries only, simplified, in the basemap datum, rounded."""
    if gdf.crs is None:
        gdf = gdf.set_crs(CGCS2000)
    elif not gdf.crs.equals(CRS.from_user_input(CGCS2000)):
        gdf = gdf.to_crs(CGCS2000)
    keep = ~(gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy()
    if keep.any():  # a geometry with a NaN coordinate (a failed reprojection) cannot be drawn
        keep &= np.isfinite(shapely.bounds(gdf.geometry.values)).all(axis=1)
    gdf = gdf[keep]
    gdf = simplify(gdf, simplify_m)
    gdf = to_datum(gdf, datum)
    return gdf.set_geometry(round_coords(gdf.geometry.values))


def feature_labels(gdf: pd.DataFrame, name_field: str | None = None) -> tuple[list[str], set[str]]:
    """Chinese-first labels ``name_zh name_en`` and the columns they were made of."""
    used: set[str] = set()
    names: pd.Series | None = None
    try:
        names = feature_names(gdf, name_field)
    except InputError:  # a name field the layer lacks: the usual name fields below
        names = None
    if names is None:
        for col in ([name_field] if name_field else []) + ["name", "name_zh", "名称", "NAME", "MC", "XMMC"]:
            if col and col in gdf.columns:
                names = gdf[col]
                break
    if names is None:
        names = pd.Series([str(i + 1) for i in range(len(gdf))], index=gdf.index)
    names = names.astype(object).where(names.notna(), None)
    # the column the names came from is the popup's title, not a row of its table
    as_text = names.map(lambda v: "" if v is None else str(v).strip())
    for col in ([name_field] if name_field else []) + [c for c in gdf.columns if c != gdf.geometry.name]:
        if col in gdf.columns and not pd.api.types.is_numeric_dtype(gdf[col]) and \
                gdf[col].map(lambda v: "" if v is None or v != v else str(v).strip()).tolist() == as_text.tolist():
            used.add(col)
            break
    en = gdf["name_en"] if "name_en" in gdf.columns else None
    if en is not None:
        used.add("name_en")
    labels = []
    for i, name in enumerate(names.tolist()):
        zh = "" if name is None else str(name).strip()
        e = "" if en is None or pd.isna(en.iloc[i]) else str(en.iloc[i]).strip()
        labels.append(f"{zh} {e}".strip() if e and e not in zh else (zh or e or str(i + 1)))
    return labels, used


@dataclass
class MapLayer:
    """A layer ready for the map: the element's meta, styles and GeoJSON, plus what the legend needs."""

    id: str
    label: str
    group: str
    geometry: str
    gdf: gpd.GeoDataFrame              # display geometries (EPSG:4490 numbers, in the basemap's datum)
    meta: dict[str, Any]
    styles: list[dict[str, Any]]
    data: dict[str, Any]
    show: bool = True
    illustrative: bool = False
    kind: LayerKind | None = None
    legend_items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # extra swatches (mine status …)

    @property
    def count(self) -> int:
        return len(self.data["features"])

    @property
    def css_class(self) -> str:
        return self.meta["className"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def feature_collection(gdf: gpd.GeoDataFrame, props: list[dict[str, Any]]) -> dict[str, Any]:
    geoms = shapely.to_geojson(gdf.geometry.values)
    import json

    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(g), "properties": p} for g, p in zip(geoms, props)]}


def prepare_layer(
    layer_id: str,
    gdf: gpd.GeoDataFrame,
    *,
    kind: LayerKind | None = None,
    label: str | None = None,
    group: str | None = None,
    name_field: str | None = None,
    datum: str = "wgs84",
    simplify_m: float = DEFAULT_SIMPLIFY_M,
    order: int = 0,
    show: bool = True,
    style_fn: Callable[[gpd.GeoDataFrame, str], tuple[list[dict[str, Any]], list[int]]] | None = None,
    popup_html: list[str] | None = None,
    fields: list[str] | None = None,
    pane: str | None = None,
    searchable: bool = True,
) -> MapLayer:
    """Prepare one layer. ``style_fn(gdf, geometry) -> (styles, index per feature)`` overrides the catalogue
    style; ``popup_html`` (one ready, escaped HTML string per feature of ``gdf``) replaces the attribute table."""
    if popup_html is not None:
        gdf = gdf.assign(_pm_popup=list(popup_html))
    disp = display_gdf(gdf, datum=datum, simplify_m=simplify_m)
    geometry = styles.geometry_family(kind, disp.geom_type.unique() if len(disp) else [])
    if style_fn is not None:
        style_list, idx = style_fn(disp, geometry)
    else:
        style_list, idx = styles.feature_styles(kind, disp, geometry)
    labels, used = feature_labels(disp, name_field)
    hidden = popups.HIDDEN_FIELDS | used | {"_pm_popup"}
    columns = fields if fields is not None else [c for c in disp.columns if c != disp.geometry.name and c not in hidden]
    field_list = [[c, popups.field_label(c)] for c in columns]
    illus_col = disp["illustrative"].map(popups.is_illustrative).to_numpy() if "illustrative" in disp.columns \
        else np.zeros(len(disp), dtype=bool)
    records = disp[columns].to_dict("records") if columns else [{} for _ in range(len(disp))]
    html_col = disp["_pm_popup"].tolist() if "_pm_popup" in disp.columns else None
    props = []
    for i, rec in enumerate(records):
        p: dict[str, Any] = {"_label": labels[i]}
        if idx[i]:
            p["_s"] = int(idx[i])
        if illus_col[i]:
            p["_illus"] = 1
        if html_col is not None:
            p["_html"] = html_col[i]
        for c, v in rec.items():
            text = popups.display_value(c, _jsonable(v))
            if text is not None:
                p[c] = text
        props.append(p)
    kind_id = kind.id if kind is not None else layer_id
    pane_name = pane or styles.PANES["outline" if geometry == "polygon" and not style_list[0].get("fill", True)
                                     else geometry][0]
    label = label or (kind.label if kind is not None else layer_id)
    short = kind.name_zh if kind is not None else label
    meta = {"kind": kind_id, "label": label, "short": short, "group": group or (kind.group if kind else ""),
            "order": order, "pane": pane_name, "className": styles.css_class(layer_id), "fields": field_list,
            "searchable": searchable}
    return MapLayer(id=layer_id, label=label, group=meta["group"], geometry=geometry, gdf=disp, meta=meta,
                    styles=style_list, data=feature_collection(disp, props), show=show,
                    illustrative=bool(illus_col.any()), kind=kind)
