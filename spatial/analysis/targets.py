"""Indicator specifications from the catalogue and the comparison of a value with its targets.

A spec is one ``[indicators.*]`` table; :func:`with_targets` turns one unit's measured value into one row per
target (达标 pass / 未达标 fail / 无目标 no target / 无数据 no data, with the margin in the indicator's unit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from spatial.analysis.territory import Units

if TYPE_CHECKING:  # pragma: no cover
    from spatial.rules.catalog import Catalog

__all__ = ["STATUS_PASS", "STATUS_FAIL", "STATUS_NO_TARGET", "STATUS_NO_DATA", "TERRAIN_LABELS",
           "Target", "IndicatorSpec", "indicator_specs", "row_base", "with_targets", "source_text"]

STATUS_PASS = "达标 pass"

STATUS_FAIL = "未达标 fail"

STATUS_NO_TARGET = "无目标 no target"

STATUS_NO_DATA = "无数据 no data"

TERRAIN_LABELS = {"mountain": "山区 mountain", "hill": "丘陵 hill", "plain": "平原 plain"}

_OPERATORS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "not_decrease": "不减少 not decrease"}


@dataclass(frozen=True)
class Target:
    thresholds: dict[str, float]   # terrain class or "all" -> value
    operator: str = ">="
    label: str = ""                # e.g. "2020"
    source: str = ""

    def value_for(self, terrain: str | None) -> float | None:
        if "all" in self.thresholds:
            return float(self.thresholds["all"])
        if terrain is not None and terrain in self.thresholds:
            return float(self.thresholds[terrain])
        return None

    def text(self, value: float | None, unit: str, terrain: str | None) -> str:
        op = _OPERATORS.get(self.operator, self.operator)
        if value is None:
            return ""
        base = f"{op} {value:g} {unit}".strip()
        if "all" not in self.thresholds and terrain:
            base += f"（{TERRAIN_LABELS.get(terrain, terrain)}）"
        return base

@dataclass(frozen=True)
class IndicatorSpec:
    id: str
    name_zh: str
    name_en: str
    kinds: tuple[str, ...]
    unit: str
    targets: tuple[Target, ...]
    source: str
    reported: dict[str, float]
    method: str = "area_share"          # area_share | mine_restoration
    where: dict[str, dict[str, Any]] = field(default_factory=dict)
    precedence: tuple[str, ...] = ()    # breakdown order overriding the catalogue's kind precedence

    @property
    def label(self) -> str:
        return f"{self.name_zh} {self.name_en}"

def indicator_specs(catalog: Catalog) -> list[IndicatorSpec]:
    """The ``[indicators.*]`` tables of the catalogue as specs (targets normalised to a list)."""
    specs = []
    for ind_id, raw in catalog.indicators.items():
        op = raw.get("operator", ">=")
        targets: list[Target] = []
        for t in raw.get("targets", []):
            th = t.get("thresholds") or ({"all": t["value"]} if "value" in t else {})
            targets.append(Target(thresholds={k: float(v) for k, v in th.items()}, operator=t.get("operator", op),
                                  label=str(t.get("year", t.get("label", ""))), source=t.get("source", "")))
        if not targets and (raw.get("thresholds") or op == "not_decrease"):
            targets.append(Target(thresholds={k: float(v) for k, v in raw.get("thresholds", {}).items()},
                                  operator=op, source=""))
        method = raw.get("method") or ("mine_restoration" if "mine_site" in raw.get("kinds", ()) else "area_share")
        specs.append(IndicatorSpec(
            id=ind_id, name_zh=raw.get("name_zh", ind_id), name_en=raw.get("name_en", ind_id),
            kinds=tuple(raw.get("kinds", ())), unit=raw.get("unit", "%"), targets=tuple(targets),
            source=raw.get("source", ""), reported={str(k): float(v) for k, v in raw.get("reported", {}).items()},
            method=method, where=dict(raw.get("where", {})), precedence=tuple(raw.get("precedence", ())),
        ))
    return specs

def source_text(catalog: Catalog | None, ref: str) -> str:
    if not ref:
        return ""
    if catalog is None:
        return ref
    return "; ".join(catalog.source_title(r.strip()) for r in ref.split(";") if r.strip())

def _reported(spec: IndicatorSpec, name: str, code: str) -> float:
    for key in (name, code, *name.split("、")):
        if key and key in spec.reported:
            return spec.reported[key]
    return float("nan")

def row_base(spec: IndicatorSpec, units: Units, i: int, catalog: Catalog | None) -> dict[str, Any]:
    cov = units.coverage[i]
    return {
        "indicator_id": spec.id,
        "indicator": spec.label,
        "unit_kind": units.kind_label,
        "unit_code": units.codes[i],
        "unit": units.names[i],
        "terrain_class": TERRAIN_LABELS.get(units.terrain[i] or "", units.terrain[i] or ""),
        "coverage": float(100.0 * cov) if not np.isnan(cov) else np.nan,
        "reported": _reported(spec, units.names[i], units.codes[i]),
    }

def with_targets(spec: IndicatorSpec, base: dict[str, Any], units: Units, i: int, catalog: Catalog | None,
                  min_coverage: float, *, has_data: bool, margin_fn: Callable[[float], float],
                  margin_unit: str) -> list[dict[str, Any]]:
    """One row per target of the indicator (one row with 无目标 when it has none)."""
    terrain = units.terrain[i]
    value = base.get("value", np.nan)
    covered = units.covered(i, min_coverage)
    out = []
    for target in spec.targets or (None,):
        row = dict(base)
        note = ""
        tval = None
        if target is not None:
            tval = target.value_for(terrain)
            if target.operator == "not_decrease":
                baseline = base.get("reported", np.nan)
                tval = None if baseline is None or np.isnan(baseline) else float(baseline)
                row["target"] = (f"≥ {tval:g} {spec.unit}（不减少 not decrease）" if tval is not None
                                 else "不减少 not decrease")
                if tval is None:
                    note = "无基准值：用 spatial diff 比较版本 no baseline: compare versions with `spatial diff`"
            else:
                row["target"] = target.text(tval, spec.unit, terrain)
                if tval is None:
                    note = "未设地形类别 terrain class not set" if "all" not in target.thresholds else ""
            ref = target.source or spec.source
            row["target_label"] = target.label
        else:
            row["target"] = ""
            row["target_label"] = ""
            ref = spec.source
        row["target_value"] = tval if tval is not None else np.nan
        row["source_ref"] = ref
        row["source"] = source_text(catalog, ref)
        if not has_data or value is None or (isinstance(value, float) and np.isnan(value)):
            status, margin = STATUS_NO_DATA, np.nan
        elif not covered:
            status, margin = STATUS_NO_DATA, np.nan
            note = (f"单位仅 {100 * units.coverage[i]:.1f}% 在工作空间范围内，图层可能未覆盖 only "
                    f"{100 * units.coverage[i]:.1f} % of the unit lies in the workspace territory; "
                    "its layers may not cover the rest")
        elif tval is None:
            status, margin = STATUS_NO_TARGET, np.nan
        else:
            ok = _compare(value, tval, target.operator if target else ">=")
            status = STATUS_PASS if ok else STATUS_FAIL
            margin = margin_fn(tval)
        row.update(status=status, margin=margin, margin_unit=margin_unit if not np.isnan(margin) else "",
                   note=note)
        out.append(row)
    return out

def _compare(value: float, target: float, operator: str) -> bool:
    eps = 1e-12 * max(1.0, abs(target))
    if operator in (">=", "not_decrease"):
        return value >= target - eps
    if operator == ">":
        return value > target
    if operator == "<=":
        return value <= target + eps
    if operator == "<":
        return value < target
    raise ValueError(f"unknown indicator operator {operator!r}; use >=, >, <=, < or not_decrease")
