"""The layer catalogue: kinds of planning layer, their rules, targets and styles (layers/catalog.toml)."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from layers import CATALOG_PATH
from spatial.errors import CatalogError
from spatial.rules.verdicts import Verdicts

DEFAULT_CATALOG = CATALOG_PATH
RULE_CLASSES = ("prohibited", "restricted", "conditional", "information")


@dataclass(frozen=True)
class Rule:
    id: str
    types: tuple[str, ...]
    verdict: str
    rule_zh: str
    rule_en: str
    source: str
    within_m: float | None = None   # a distance rule: applies within this many metres (overlap included)

    @property
    def is_distance_rule(self) -> bool:
        return self.within_m is not None

    def applies_to(self, project_type: str) -> bool:
        return "*" in self.types or project_type in self.types


@dataclass(frozen=True)
class LayerKind:
    id: str
    name_zh: str
    name_en: str
    group: str
    geometry: str
    rule_class: str
    aliases: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    style: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    rule_zh: str = ""
    rule_en: str = ""
    protected_area: bool = False
    precedence: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Chinese name first, English beside it."""
        return f"{self.name_zh} {self.name_en}"

    @property
    def is_constraint(self) -> bool:
        return bool(self.rules)

    def rule_for(self, project_type: str) -> Rule | None:
        return next((r for r in self.rules if r.applies_to(project_type)), None)

    def rules_for(self, project_type: str) -> tuple[Rule, ...]:
        """The kind's rules naming ``project_type`` (or ``*``), in catalogue order."""
        return tuple(r for r in self.rules if r.applies_to(project_type))

    @property
    def has_distance_rule(self) -> bool:
        return any(r.is_distance_rule for r in self.rules)

    def with_distance(self, within_m: float) -> "LayerKind":
        """The kind with ``within_m`` set on each of its distance rules (a user's distance for the plan's rule)."""
        rules = tuple(dataclasses.replace(r, within_m=float(within_m)) if r.is_distance_rule else r
                      for r in self.rules)
        return dataclasses.replace(self, rules=rules)


@dataclass(frozen=True)
class Catalog:
    kinds: dict[str, LayerKind]
    project_types: dict[str, dict[str, str]]
    sources: dict[str, dict[str, str]]
    indicators: dict[str, dict[str, Any]]
    path: Path
    verdicts: Verdicts = field(default_factory=lambda: Verdicts(()))
    thresholds: dict[str, float] = field(default_factory=dict)
    three_zones: dict[str, Any] = field(default_factory=dict)
    mine_states: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)   # every other top-level table (e.g. [pattern]), as read

    def threshold(self, name: str) -> float:
        """A measurement tolerance of ``[thresholds]`` (min_overlap_m2, sliver_m2 …)."""
        try:
            return float(self.thresholds[name])
        except KeyError:
            raise CatalogError(f"{self.path}: [thresholds] has no {name!r}; add it") from None
    validation: dict[str, Any] = field(default_factory=dict)
    project_type_columns: tuple[str, ...] = ("project_type",)

    @cached_property
    def _project_type_keys(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        for tid, names in self.project_types.items():
            labels = [tid, names.get("name_zh"), names.get("name_en"), *names.get("aliases_zh", ())]
            for label in [str(x) for x in labels if x]:
                keys.setdefault(_type_key(label), tid)
                keys.setdefault(_type_key(re.split(r"[（(]", label)[0]), tid)  # "Energy (wind, solar)" -> energy
        keys.pop("", None)
        return keys

    def project_type_id(self, text: Any) -> str | None:
        """The catalogue project type id for ``text``: an id (``energy``), a Chinese name (``能源（风电、光伏等）``),
        a short Chinese label (``能源``, from ``aliases_zh``) or the English name; None if unknown.

        Case, surrounding spaces and ``-`` / space versus ``_`` do not matter.
        """
        if text is None or (isinstance(text, float) and text != text):
            return None
        return self._project_type_keys.get(_type_key(str(text)))

    def project_type_column(self, columns: Any) -> str | None:
        """The first of ``columns`` that the catalogue's ``type_columns`` name (case-insensitive), else None."""
        by_key = {str(c).strip().lower(): c for c in reversed(list(columns))}
        return next((by_key[c.lower()] for c in self.project_type_columns if c.lower() in by_key), None)

    def project_type_choices(self) -> str:
        """The accepted project types, for messages: ``energy (能源（风电、光伏等）; 能源, 风电 …)``."""
        return ", ".join(f"{tid} ({'; '.join(filter(None, [v.get('name_zh'), ', '.join(v.get('aliases_zh', ()))]))})"
                         for tid, v in self.project_types.items())

    def kind(self, kind_id: str) -> LayerKind:
        try:
            return self.kinds[kind_id]
        except KeyError:
            raise KeyError(
                f"unknown layer kind {kind_id!r} in {self.path}; known kinds: {', '.join(self.kinds)}"
            ) from None

    def kind_for_name(self, name: str) -> LayerKind | None:
        """Recognise a delivered layer name (STBHHX, 生态保护红线 …) as a catalogue kind."""
        key = Path(name).stem.upper()
        for kind in self.kinds.values():
            if key == kind.id.upper() or key in (a.upper() for a in kind.aliases):
                return kind
        return None

    def protected_kinds(self) -> list[LayerKind]:
        return sorted((k for k in self.kinds.values() if k.protected_area), key=lambda k: k.precedence or 99)

    def source_title(self, ref: str) -> str:
        """'000:936' -> the document's bilingual title with the reference."""
        doc = ref.split(":", 1)[0].strip()
        src = self.sources.get(doc)
        return f"{src['title_zh']} ({src['title_en']}) {ref}" if src else ref


def _type_key(text: str) -> str:
    return re.sub(r"[\s\-_\u3000]+", "_", text.strip().lower()).strip("_")


def _rule(raw: dict[str, Any], kind_id: str, verdicts: Verdicts) -> Rule:
    verdict = raw["verdict"]
    if verdict not in verdicts.order:
        raise CatalogError(f"catalogue kind {kind_id}: rule {raw.get('id')} has unknown verdict {verdict!r}")
    return Rule(
        id=raw["id"],
        types=tuple(raw.get("types", ["*"])),
        verdict=verdict,
        rule_zh=raw.get("rule_zh", ""),
        rule_en=raw.get("rule_en", ""),
        source=raw.get("source", ""),
        within_m=float(raw["within_m"]) if raw.get("within_m") is not None else None,
    )


_KIND_FIELDS = {"name_zh", "name_en", "group", "geometry", "rule_class", "aliases", "rules", "style",
                "source", "rule_zh", "rule_en", "protected_area", "precedence"}


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and check the catalogue.

    Parameters
    ----------
    path : str or Path, optional
        A catalog.toml; default the bundled ``layers/catalog.toml``.

    Returns
    -------
    Catalog

    Raises
    ------
    CatalogError
        When the file is not valid TOML or names an unknown verdict, rule class or project type.

    Examples
    --------
    >>> load_catalog().kind("ecological_redline").name_zh
    '生态保护红线'
    """
    path = Path(path) if path else DEFAULT_CATALOG
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML ({exc}); correct the file") from None
    data = _with_bundled_tables(data, path)
    verdicts = Verdicts.from_table(data["verdicts"])
    kinds: dict[str, LayerKind] = {}
    for kind_id, raw in data.get("kinds", {}).items():
        if raw.get("rule_class") not in RULE_CLASSES:
            raise CatalogError(f"{path}: kind {kind_id} has rule_class {raw.get('rule_class')!r}; use one of {RULE_CLASSES}")
        kinds[kind_id] = LayerKind(
            id=kind_id,
            name_zh=raw["name_zh"],
            name_en=raw["name_en"],
            group=raw.get("group", ""),
            geometry=raw["geometry"],
            rule_class=raw["rule_class"],
            aliases=tuple(raw.get("aliases", ())),
            rules=tuple(_rule(r, kind_id, verdicts) for r in raw.get("rules", ())),
            style=dict(raw.get("style", {})),
            source=raw.get("source", ""),
            rule_zh=raw.get("rule_zh", ""),
            rule_en=raw.get("rule_en", ""),
            protected_area=bool(raw.get("protected_area", False)),
            precedence=raw.get("precedence"),
            extra={k: v for k, v in raw.items() if k not in _KIND_FIELDS},
        )
    project_types = dict(data.get("project_types", {}))
    for kind in kinds.values():
        for rule in kind.rules:
            unknown = [t for t in rule.types if t != "*" and t not in project_types]
            if unknown:
                raise CatalogError(f"{path}: kind {kind.id} rule {rule.id} names unknown project types {unknown}")
    _check_type_aliases(project_types, path)
    columns = tuple(data.get("project_attributes", {}).get("type_columns", ("project_type",)))
    return Catalog(
        kinds=kinds,
        project_types=project_types,
        sources=dict(data.get("sources", {})),
        indicators=dict(data.get("indicators", {})),
        path=path,
        verdicts=verdicts,
        thresholds=dict(data.get("thresholds", {})),
        three_zones=dict(data.get("three_zones", {})),
        mine_states=dict(data.get("mine_states", {})),
        tables={k: v for k, v in data.items() if k not in _CATALOG_TABLES},
        validation=dict(data.get("validation", {})),
        project_type_columns=columns,
    )


_CATALOG_TABLES = {"version", "verdicts", "thresholds", "three_zones", "mine_states", "sources", "project_types",
                   "kinds", "indicators", "validation", "project_attributes"}


def _check_type_aliases(project_types: dict[str, dict[str, Any]], path: Path) -> None:
    """A short label must name one type only: 能源 cannot be energy and water_works at once."""
    seen: dict[str, str] = {}
    for tid, names in project_types.items():
        for alias in names.get("aliases_zh", ()):
            key = _type_key(str(alias))
            if seen.get(key, tid) != tid:
                raise CatalogError(f"{path}: project type alias {alias!r} is given to both {seen[key]} and {tid}")
            seen[key] = tid


_INHERITED = ("verdicts", "thresholds", "three_zones", "mine_states", "validation", "project_attributes")


def _with_bundled_tables(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """A user catalogue that defines only kinds and rules takes the vocabulary tables it lacks
    (verdicts, thresholds, 三区三线 structure, mine states, validation) from the bundled catalogue."""
    missing = [t for t in _INHERITED if t not in data]
    if not missing or Path(path).resolve() == DEFAULT_CATALOG.resolve():
        return data
    with open(DEFAULT_CATALOG, "rb") as fh:
        bundled = tomllib.load(fh)
    return {**data, **{t: bundled[t] for t in missing if t in bundled}}


@lru_cache(maxsize=1)
def bundled_catalog() -> Catalog:
    """The bundled catalogue, read once (for code that draws or labels without a workspace at hand)."""
    return load_catalog()
