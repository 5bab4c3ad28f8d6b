"""Feature names and numbers, as every message and output shows them (``#3 常山港湿地``).

A feature is named by ``name_field`` when given, else by the first non-blank of the usual name fields of
Chinese planning data, else by its 1-based number in the file.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from spatial.errors import InputError

__all__ = ["NAME_FIELDS", "feature_names", "feature_numbers", "feature_labels"]

# 项目名称 XMMC, 红线名称 HXMC, 名称 MC, 地块名称 DKMC …; Latin ones matched case-insensitively (KML's ``Name``)
NAME_FIELDS = ("XMMC", "项目名称", "HXMC", "MC", "NAME", "name", "名称", "DKMC", "地块名称")


_BLANK_WORDS = ["nan", "None", "<NA>", "NaN"]


def _is_text(values: pd.Series) -> bool:
    """A column of text (pandas' string dtype), whose cells can be stripped all at once."""
    return isinstance(values.dtype, pd.StringDtype)


def _blank(values: pd.Series) -> np.ndarray:
    if _is_text(values):  # vectorised: a Python call per name took a quarter second at 100 000 projects
        text = values.str.strip()
        return (text.isna() | (text == "") | text.isin(_BLANK_WORDS)).to_numpy(dtype=bool)
    text = values.astype(object).map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v))
                                     else str(v).strip())
    return (text == "") | text.isin(_BLANK_WORDS)


def _as_text(values: pd.Series) -> pd.Series:
    if _is_text(values):
        return values.str.strip().astype(object)

    def one(v: Any) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()
    return values.astype(object).map(one)


def feature_numbers(gdf: pd.DataFrame) -> pd.Series:
    """1-based feature numbers: index + 1 for an integer index (a read_layer result keeps the file's
    positions), else the position + 1."""
    idx = gdf.index
    if pd.api.types.is_integer_dtype(idx.dtype) and len(idx) and idx.min() >= 0:
        nums = np.asarray(idx, dtype=np.int64) + 1
    else:
        nums = np.arange(1, len(gdf) + 1)
    return pd.Series(nums, index=gdf.index)


def feature_names(gdf: pd.DataFrame, name_field: str | None = None) -> pd.Series:
    """A name per feature: ``name_field`` if given, else the first non-blank of the usual name fields
    (XMMC, 项目名称, HXMC, MC, NAME, name, 名称, DKMC, 地块名称; Latin ones case-insensitive, e.g. KML's
    ``Name``), else the 1-based feature number as a string."""
    out = pd.Series([""] * len(gdf), index=gdf.index, dtype=object)
    missing = np.ones(len(gdf), dtype=bool)
    if name_field is not None:
        if name_field not in gdf.columns:
            geom = gdf.geometry.name if isinstance(gdf, gpd.GeoDataFrame) else None
            columns = ", ".join(str(c) for c in gdf.columns if c != geom)
            raise InputError(f"name field {name_field!r} is not a column of the layer (columns: {columns}); "
                             f"set name_field to one of them")
        fields = [name_field]
    else:
        lower = {str(c).lower(): c for c in reversed(list(gdf.columns))}
        fields = []
        for f in NAME_FIELDS:
            col = f if f in gdf.columns else lower.get(f.lower()) if f.isascii() else None
            if col is not None and col not in fields:
                fields.append(col)
    for col in fields:
        if not missing.any():
            break
        values = gdf[col]
        if isinstance(values, pd.DataFrame):  # duplicated column names
            values = values.iloc[:, 0]
        blank = _blank(values)
        take = missing & ~np.asarray(blank)
        out[take] = _as_text(values[take])
        missing &= ~take
    if missing.any():
        out[missing] = feature_numbers(gdf)[missing].astype(str)
    return out


def feature_labels(gdf: pd.DataFrame, name_field: str | None = None) -> tuple[pd.Series, pd.Series]:
    try:
        names = feature_names(gdf, name_field)
    except InputError:
        names = feature_names(gdf)
    nums = feature_numbers(gdf)
    labels = pd.Series([f"#{n}" if str(n) == nm else f"#{n} {nm}" for n, nm in zip(nums, names)], index=gdf.index)
    return labels, nums


class LazyLabels:
    """``#number name`` of features by position, as :func:`feature_labels` gives them, computed on first use
    (a layer without findings never needs them)."""

    def __init__(self, gdf: pd.DataFrame, name_field: str | None) -> None:
        self._gdf, self._name_field, self._labels = gdf, name_field, None

    @property
    def iloc(self) -> Any:
        if self._labels is None:
            self._labels, _ = feature_labels(self._gdf, self._name_field)
        return self._labels.iloc
