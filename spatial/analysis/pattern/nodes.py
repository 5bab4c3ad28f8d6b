"""Ecological nodes (生态节点).

Two kinds of node, both derived from the least-cost paths of :mod:`.corridors`:

* ``junction``: where two or more corridor paths cross or run together (cells on ≥ 2 distinct
  paths), away from the sources themselves (cells within one cell of a source are left out,
  since every path leaving a source touches it). One node per 8-connected group of such cells,
  placed at the group's cell shared by the most paths (first in raster order on ties).
* ``stepping_stone``: habitat patches below the source minimum but of at least
  ``stepping_stone_min_km2`` (see :mod:`.sources`) whose nearest cell lies within
  ``stepping_stone_distance_m`` of a least-cost path (Euclidean distance between cell centres).
  The node sits at that nearest cell.

Optionally the sources' current-flow betweenness centrality (Brandes & Fleischer 2005, networkx
``current_flow_betweenness_centrality``) on the corridor network, edge conductance = 1 / cost,
ranks sources that keep the network together (the role of Linkage Mapper's Centrality Mapper).
"""
from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
from scipy import ndimage

EIGHT = np.ones((3, 3), dtype=bool)
NODE_COLUMNS = ["node_type", "row", "col", "corridor_ids", "paths", "patch_cells", "area_m2", "distance_m"]


def find_nodes(paths: dict, labels: np.ndarray, stepping: np.ndarray, cell_m: float, *, stepping_distance_m: float) -> pd.DataFrame:
    """Junctions and stepping stones.

    Parameters
    ----------
    paths : dict of int to numpy.ndarray
        corridor_id → (k, 2) path cells.
    labels : numpy.ndarray
        Source ids per cell.
    stepping : numpy.ndarray
        Stepping-stone candidate patch labels (``Sources.stepping``).
    cell_m : float
    stepping_distance_m : float

    Returns
    -------
    pandas.DataFrame
        One row per node: node_type, row, col, corridor_ids (comma-separated), paths, patch_cells,
        area_m2, distance_m.
    """
    count, which = _path_counts(paths, labels.shape)
    rows = _junctions(count, which, labels) + _stepping_stones(count > 0, stepping, cell_m, stepping_distance_m)
    return pd.DataFrame(rows, columns=NODE_COLUMNS)


def _path_counts(paths, shape):
    count = np.zeros(shape, dtype="int32")
    which = {}
    for cid, p in paths.items():
        cells = np.unique(p[:, 0] * shape[1] + p[:, 1])
        count.ravel()[cells] += 1
        which[cid] = cells
    return count, which


def _junctions(count, which, labels):
    near_source = ndimage.binary_dilation(labels > 0, structure=EIGHT)
    shared = (count >= 2) & ~near_source
    lab, _ = ndimage.label(shared, structure=EIGHT)
    out = []
    for k, sl in enumerate(ndimage.find_objects(lab), 1):
        sub = np.where(lab[sl] == k, count[sl], -1)
        r, c = np.unravel_index(np.argmax(sub), sub.shape)
        r, c = int(r + sl[0].start), int(c + sl[1].start)
        cells = _component_cells(lab, sl, k)
        ids = sorted(cid for cid, cc in which.items() if np.intersect1d(cc, cells, assume_unique=True).size)
        out.append(dict(node_type="junction", row=r, col=c, corridor_ids=",".join(map(str, ids)),
                        paths=int(count[r, c]), patch_cells=0, area_m2=0.0, distance_m=0.0))
    return out


def _component_cells(lab, sl, k):
    rr, cc = np.nonzero(lab[sl] == k)
    return np.sort((rr + sl[0].start) * lab.shape[1] + cc + sl[1].start)


def _stepping_stones(on_path, stepping, cell_m, max_dist_m):
    n = int(stepping.max())
    if n == 0 or not on_path.any():
        return []
    dist, (ir, ic) = ndimage.distance_transform_edt(~on_path, return_indices=True)
    dist = dist * cell_m
    idx = np.arange(1, n + 1)
    dmin = ndimage.minimum(dist, stepping, idx)
    where = ndimage.minimum_position(dist, stepping, idx)
    cells = np.bincount(stepping.ravel(), minlength=n + 1)[1:]
    out = []
    for k, d, (r, c), nc in zip(idx, dmin, where, cells):
        if d <= max_dist_m:
            out.append(dict(node_type="stepping_stone", row=int(r), col=int(c), corridor_ids="", paths=0,
                            patch_cells=int(nc), area_m2=float(nc * cell_m * cell_m), distance_m=float(d)))
    return out


def source_centrality(source_ids, links: pd.DataFrame) -> pd.Series:
    """Current-flow betweenness of each source on the corridor network (edge weight 1 / cost).

    Parameters
    ----------
    source_ids : iterable of int
    links : pandas.DataFrame
        Corridors with from_id, to_id, cost.

    Returns
    -------
    pandas.Series
        Normalised betweenness by source id; 0 for sources in components of fewer than 3.
    """
    g = nx.Graph()
    g.add_nodes_from(source_ids)
    for row in links.itertuples():
        g.add_edge(int(row.from_id), int(row.to_id), weight=1.0 / row.cost)
    out = dict.fromkeys(g.nodes, 0.0)
    for comp in nx.connected_components(g):
        if len(comp) >= 3:
            out.update(nx.current_flow_betweenness_centrality(g.subgraph(comp), weight="weight"))
    return pd.Series(out, name="cf_betweenness").sort_index()
