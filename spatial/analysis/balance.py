"""Farmland occupation–compensation balance (耕地占补平衡): area, quality grade and contiguity.

The rule (SEED_BRIEF LU8, LU11; 000:975): cultivated land taken for construction (占用) must be made good
by land of at least the same area and not lower quality (补充耕地, "占一补一、占优补优").

Method
------
* **Area**: each side is read as a layer (any CRS), its polygons are unioned in their own CRS (overlapping
  parcels counted once) and measured with :func:`spatial.geo.area.union_area_m2` (``official`` 图斑椭球面积 by
  default, ``geodesic`` on request).  Reported in m², 公顷 ha and 亩 mu (:mod:`spatial.geo.units`).
* **Quality grade** (耕地质量等别, field ``ZLDJ`` by default): the mean of the features' grades weighted by
  each feature's own official area (:func:`spatial.geo.area.area_m2`).  Where features of one side overlap,
  the shared area is weighted once *per feature* (each parcel keeps its whole area as its weight); the
  overlap is reported (``overlap_m2`` = sum of feature areas − union area) so that such a layer can be
  fixed rather than silently re-weighted.  Convention ``best_grade="low"`` (default): grade 1 is the best
  (national 耕地质量等别 1–15, 耕地质量等级 1–10); ``best_grade="high"``: larger numbers are better.
* **Contiguity** of the compensation: the union of its parcels is split into patches; parcels that touch
  (share an edge or only a corner) form one patch.  Reported: number of patches, mean and largest patch.
* **Verdict**: balanced when the compensated area ≥ the occupied area *and* its weighted grade is not
  worse than the occupied one (ties pass).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial.geo.area import AreaMethod, area_m2, union_area_m2
from spatial.errors import InputError
from spatial.sources.files import read_layer
from spatial.sources.names import feature_names, feature_numbers
from spatial.geo.units import convert_area

if TYPE_CHECKING:  # pragma: no cover
    from spatial.sources.workspace import Workspace

__all__ = ["BalanceResult", "balance", "workspace_balance", "HEADERS", "BestGrade"]

BestGrade = Literal["low", "high"]
OCCUPIED = "occupied"
COMPENSATED = "compensated"
SIDE_LABELS = {OCCUPIED: "占用耕地 occupied", COMPENSATED: "补充耕地 compensated"}
GRADE_LABELS = {"low": "1 为最优（数值越小越好） 1 is best (lower is better)",
                "high": "数值越大越好 higher is better"}
RULE = "耕地占补平衡：数量不减少、质量不降低 occupation–compensation balance: area not less, grade not worse (000:975)"
VERDICT_BALANCED = "占补平衡 balanced"
VERDICT_AREA = "补充面积不足 compensated area too small"
VERDICT_GRADE = "补充耕地质量等别较低 compensated grade worse"
VERDICT_BOTH = "面积不足且质量较低 area too small and grade worse"
_EPS_M2 = 1e-6   # equal areas up to floating-point noise pass
_OVERLAP_NOISE = 1e-9  # sum − union below this share of the union is rounding along shared edges, not overlap

# Bilingual headers of the written tables (internal column -> header), Chinese first.
HEADERS: dict[str, str] = {
    "side": "类别 side",
    "file": "文件 file",
    "features": "地块数 parcels",
    "area_m2": "面积 area m²",
    "area_ha": "面积 area 公顷 ha",
    "area_mu": "面积 area 亩 mu",
    "sum_area_m2": "地块面积之和 sum of parcel areas m²",
    "overlap_m2": "重叠面积 overlap m²",
    "grade": "加权平均质量等别 area-weighted grade",
    "grade_min": "最优等别 best grade",
    "grade_max": "最差等别 worst grade",
    "patches": "连片数 patches",
    "mean_patch_m2": "平均连片面积 mean patch m²",
    "largest_patch_m2": "最大连片面积 largest patch m²",
    "number": "序号 number",
    "name": "名称 name",
    "item": "项目 item",
    "value": "值 value",
}


@dataclass
class _Side:
    gdf: gpd.GeoDataFrame
    src: str
    area_m2: float
    feature_m2: np.ndarray
    grades: np.ndarray


@dataclass
class BalanceResult:
    """One row per side (``table``), the compensation patches, the verdict and the settings.

    ``table`` columns: side, file, features, area_m2, area_ha, area_mu, sum_area_m2, overlap_m2, grade,
    grade_min, grade_max, patches, mean_patch_m2, largest_patch_m2 (patch columns on both rows).
    ``parcels``: one row per parcel (side, number, name, grade, area_m2 / ha / mu: its own official area,
    the weight of its grade).
    """

    table: pd.DataFrame
    parcels: pd.DataFrame
    patches: gpd.GeoDataFrame
    area_ok: bool
    grade_ok: bool
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.area_ok and self.grade_ok

    @property
    def verdict(self) -> str:
        if self.balanced:
            return VERDICT_BALANCED
        if not self.area_ok and not self.grade_ok:
            return VERDICT_BOTH
        return VERDICT_AREA if not self.area_ok else VERDICT_GRADE

    def row(self, side: str) -> pd.Series:
        """The table row of ``side`` ("occupied" or "compensated")."""
        return self.table.iloc[(OCCUPIED, COMPENSATED).index(side)]

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready figures: areas (m², ha, mu), grades, patch figures, verdict, settings."""
        occ, comp = self.row(OCCUPIED), self.row(COMPENSATED)
        out: dict[str, Any] = {}
        for key, row in ((OCCUPIED, occ), (COMPENSATED, comp)):
            for unit in ("m2", "ha", "mu"):
                out[f"{key}_{unit}"] = float(row[f"area_{unit}"])
            out[f"{key}_grade"] = _num(row["grade"])
            out[f"{key}_features"] = int(row["features"])
            out[f"{key}_overlap_m2"] = float(row["overlap_m2"])
        out["difference_m2"] = out["compensated_m2"] - out["occupied_m2"]
        out.update(patches=int(comp["patches"]), mean_patch_m2=_num(comp["mean_patch_m2"]),
                   largest_patch_m2=_num(comp["largest_patch_m2"]), area_ok=self.area_ok, grade_ok=self.grade_ok,
                   balanced=self.balanced, verdict=self.verdict, notes=list(self.notes),
                   settings={k: _plain(v) for k, v in self.settings.items()})
        return out


def _num(v: Any) -> float | None:
    v = float(v)
    return None if math.isnan(v) else v


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


# ---------------------------------------------------------------------------------------- reading

def _load(source: str | Path | gpd.GeoDataFrame, label: str, layer: str | None) -> tuple[gpd.GeoDataFrame, str]:
    if isinstance(source, gpd.GeoDataFrame):
        if source.crs is None:
            raise InputError(f"{label} layer: it has no CRS; set it first, e.g. gdf.set_crs('EPSG:4490')")
        return source, f"<{label} GeoDataFrame>"
    result = read_layer(source, layer)
    return result.gdf, f"{result.path}:{result.layer}" if layer else str(result.path)


def _grades(gdf: gpd.GeoDataFrame, src: str, grade_field: str) -> np.ndarray:
    """The grade of every feature as floats; a clear InputError for a missing field or a non-number."""
    if grade_field not in gdf.columns:
        fields = ", ".join(str(c) for c in gdf.columns if c != gdf.geometry.name)
        raise InputError(f"{src}: no quality-grade field {grade_field!r} (耕地质量等别); fields: {fields}. "
                         f"Add the field or name the one holding the grade with --grade-field")
    raw = gdf[grade_field]
    text = raw.astype(object).map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v))
                                  else str(v).strip())
    values = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        names, nums = feature_names(gdf), feature_numbers(gdf)
        shown = "; ".join(f"#{nums.iloc[i]} {names.iloc[i]}: {text.iloc[i] or '(empty)'!s}" for i in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise InputError(f"{src}: field {grade_field} must hold a number (质量等别, e.g. 3) for every parcel; "
                         f"not a number in feature {shown}{more}. Fill in the grade or remove the parcel")
    return values


def _side(source: str | Path | gpd.GeoDataFrame, label: str, layer: str | None, grade_field: str,
          method: AreaMethod) -> _Side:
    gdf, src = _load(source, label, layer)
    grades = _grades(gdf, src, grade_field)
    return _Side(gdf=gdf, src=src, area_m2=union_area_m2(gdf, method), feature_m2=area_m2(gdf, method),
                 grades=grades)


# ---------------------------------------------------------------------------------------- figures

def weighted_grade(grades: np.ndarray, weights_m2: np.ndarray) -> float:
    """Area-weighted mean grade (NaN when the weights sum to zero)."""
    total = float(np.sum(weights_m2))
    return float(np.sum(grades * weights_m2) / total) if total > 0 else math.nan


def patches_of(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Contiguous patches of a polygon layer, in its CRS: the union's polygons, grouped where they touch.

    A union merges parcels sharing an edge; parcels meeting only at a corner stay separate polygons of the
    union, so those are grouped by a touch test (connected components).
    """
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(geoms) == 0:
        return np.zeros(0, dtype=object)
    merged = shapely.union_all(shapely.make_valid(geoms))
    parts = shapely.get_parts(merged)
    parts = parts[shapely.get_type_id(parts) == 3]
    left, right = shapely.STRtree(parts).query(parts, predicate="intersects")
    group = _components(len(parts), left, right)
    # MultiPolygons throughout: one geometry type per GeoPackage layer
    return np.asarray([shapely.MultiPolygon(list(shapely.get_parts(shapely.union_all(parts[group == g]))))
                       for g in np.unique(group)], dtype=object)


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(left.tolist(), right.tolist()):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.asarray([root(i) for i in range(n)])


def _row(key: str, side: _Side, patch_m2: np.ndarray) -> dict[str, Any]:
    total = float(np.sum(side.feature_m2))
    return {
        "side": SIDE_LABELS[key], "file": side.src, "features": len(side.gdf),
        "area_m2": side.area_m2, "area_ha": convert_area(side.area_m2, "ha"),
        "area_mu": convert_area(side.area_m2, "mu"), "sum_area_m2": total,
        "overlap_m2": max(0.0, total - side.area_m2),
        "grade": weighted_grade(side.grades, side.feature_m2),
        "grade_min": float(np.min(side.grades)), "grade_max": float(np.max(side.grades)),
        "patches": len(patch_m2), "mean_patch_m2": float(np.mean(patch_m2)) if len(patch_m2) else math.nan,
        "largest_patch_m2": float(np.max(patch_m2)) if len(patch_m2) else math.nan,
    }


def _parcel_rows(key: str, side: _Side) -> pd.DataFrame:
    return pd.DataFrame({"side": SIDE_LABELS[key], "number": feature_numbers(side.gdf).to_numpy(),
                         "name": feature_names(side.gdf).to_numpy(), "grade": side.grades,
                         "area_m2": side.feature_m2, "area_ha": side.feature_m2 / 1e4,
                         "area_mu": [convert_area(a, "mu") for a in side.feature_m2]})


def _grade_not_worse(occupied: float, compensated: float, best_grade: BestGrade) -> bool:
    eps = 1e-9 * max(1.0, abs(occupied))
    return compensated <= occupied + eps if best_grade == "low" else compensated >= occupied - eps


def balance(
    occupied: str | Path | gpd.GeoDataFrame,
    compensated: str | Path | gpd.GeoDataFrame,
    *,
    grade_field: str = "ZLDJ",
    best_grade: BestGrade = "low",
    method: AreaMethod = "official",
    occupied_layer: str | None = None,
    compensated_layer: str | None = None,
) -> BalanceResult:
    """Occupation–compensation balance of cultivated land (耕地占补平衡).

    Parameters
    ----------
    occupied, compensated
        The parcels taken and the parcels added: files (read with :func:`spatial.sources.files.read_layer`) or
        GeoDataFrames with a CRS.
    grade_field
        Field holding the quality grade (耕地质量等别) of each parcel; every parcel needs a number.
    best_grade
        ``"low"``: grade 1 is the best (the national convention); ``"high"``: larger is better.
    method
        Area method of :mod:`spatial.geo.area`: ``"official"`` (图斑椭球面积) or ``"geodesic"``.
    occupied_layer, compensated_layer
        Layer names inside multi-layer files (GeoPackage).

    Returns
    -------
    BalanceResult
        One row per side, the compensation patches and the verdict (``balanced``: area not less and
        grade not worse).

    Raises
    ------
    InputError
        A file that cannot be read, or a missing / non-numeric grade field (naming file, feature, fix).
    """
    if method not in ("official", "geodesic"):
        raise ValueError(f"area method must be 'official' or 'geodesic', not {method!r}")
    if best_grade not in ("low", "high"):
        raise ValueError(f"best_grade must be 'low' (1 is best) or 'high', not {best_grade!r}")
    occ = _side(occupied, "occupied", occupied_layer, grade_field, method)
    comp = _side(compensated, "compensated", compensated_layer, grade_field, method)
    patches = patches_of(comp.gdf)
    patch_series = gpd.GeoSeries(patches, crs=comp.gdf.crs)
    patch_m2 = area_m2(patch_series, method) if len(patches) else np.zeros(0)
    occ_patches = patches_of(occ.gdf)
    occ_m2 = area_m2(gpd.GeoSeries(occ_patches, crs=occ.gdf.crs), method) if len(occ_patches) else np.zeros(0)
    table = pd.DataFrame([_row(OCCUPIED, occ, occ_m2), _row(COMPENSATED, comp, patch_m2)])
    parcels = pd.concat([_parcel_rows(OCCUPIED, occ), _parcel_rows(COMPENSATED, comp)], ignore_index=True)
    area_ok = comp.area_m2 >= occ.area_m2 - _EPS_M2
    grade_ok = _grade_not_worse(table["grade"].iloc[0], table["grade"].iloc[1], best_grade)
    patch_gdf = gpd.GeoDataFrame({"patch": np.arange(1, len(patches) + 1), "area_m2": patch_m2,
                                  "area_ha": patch_m2 / 1e4, "area_mu": [convert_area(a, "mu") for a in patch_m2]},
                                 geometry=patch_series, crs=comp.gdf.crs)
    notes = [f"{s.src}: parcels overlap by {r['overlap_m2']:,.2f} m²; the union area is used, and each parcel's "
             f"whole area weights its grade" for s, r in ((occ, table.iloc[0]), (comp, table.iloc[1]))
             if r["overlap_m2"] > _OVERLAP_NOISE * max(1.0, r["area_m2"])]
    settings = {"grade_field": grade_field, "best_grade": best_grade, "grade_convention": GRADE_LABELS[best_grade],
                "area_method": method, "rule": RULE, "occupied": occ.src, "compensated": comp.src,
                "contiguity": "touching parcels (edge or corner) form one patch"}
    return BalanceResult(table=table, parcels=parcels, patches=patch_gdf, area_ok=bool(area_ok), grade_ok=bool(grade_ok),
                         settings=settings, notes=notes)


# ---------------------------------------------------------------------------------------- writing


def workspace_balance(workspace: "Workspace", method: AreaMethod = "official") -> BalanceResult | None:
    """The balance of the occupation and compensation a workspace declares in its ``[balance]`` table
    (``occupied`` / ``compensated`` = { path, layer }, ``grade_field``, ``best_grade``); None without one.

    Raises
    ------
    InputError
        When the table names no occupied or compensated file.
    """
    table = (workspace.raw or {}).get("balance")
    if not table:
        return None
    sides = {}
    for key in ("occupied", "compensated"):
        entry = table.get(key)
        if not isinstance(entry, dict) or "path" not in entry:
            raise InputError(f"{workspace.path / 'workspace.toml'}: [balance] needs {key} = {{ path = \"…\", "
                             f"layer = \"…\" }}")
        sides[key] = (workspace.path / entry["path"], entry.get("layer"))
    return balance(sides["occupied"][0], sides["compensated"][0], grade_field=table.get("grade_field", "ZLDJ"),
                   best_grade=table.get("best_grade", "low"), method=method, occupied_layer=sides["occupied"][1],
                   compensated_layer=sides["compensated"][1])
