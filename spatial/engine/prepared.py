"""A constraint layer prepared for overlay: polygonal geometries in EPSG:4490, names and the spatial index."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import shapely

from spatial.geo.ops import keep_dim
from spatial.rules.catalog import LayerKind

__all__ = ["ConstraintLayer"]


@dataclass
class ConstraintLayer:
    """One constraint layer as the engines overlay it.

    ``checked``: validated by :mod:`spatial.sources.files` (a workspace layer); otherwise its invalid features
    are repaired here, only those whose boxes meet the projects'.
    """

    kind: LayerKind
    geoms: np.ndarray      # polygonal, EPSG:4490
    names: np.ndarray
    source: str
    tree: shapely.STRtree
    bounds: np.ndarray
    checked: bool

    @classmethod
    def build(cls, kind: LayerKind, geoms: np.ndarray, names: np.ndarray, source: str, checked: bool) -> "ConstraintLayer":
        return cls(kind=kind, geoms=geoms, names=names, source=source, tree=shapely.STRtree(geoms),
                   bounds=shapely.bounds(geoms), checked=checked)

    def validate(self, targets: np.ndarray, is_valid: Callable[[np.ndarray], np.ndarray], notes: list[str]) -> None:
        """Repair (make_valid) the invalid features among those whose boxes meet the targets'."""
        if self.checked or self.kind.geometry != "polygon" or len(targets) == 0 or len(self.geoms) == 0:
            return
        _, used = self.tree.query(targets)
        used = np.unique(used)
        bad = used[~is_valid(self.geoms[used])]
        if len(bad):
            fixed = keep_dim(shapely.make_valid(self.geoms[bad]), 2)
            self.geoms = self.geoms.copy()
            self.geoms[bad] = fixed
            notes.append(f"{self.kind.label}: {len(bad)} invalid feature(s) repaired with make_valid "
                         f"(first: {self.names[bad[0]]}).")
