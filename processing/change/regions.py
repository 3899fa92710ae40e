"""Connected regions of significant change: added (positive) and removed (negative) apart.

Grid regions come from a DoD: 8-connected components of significant cells of one sign.
Point regions come from per-point (or per-vertex / per-core) values: connected components of
the graph linking significant points of one sign closer than ``link_distance``.

Point regions have no cells, so their area is the XY footprint (occupied cells of edge
``footprint_cell`` times the cell area) and their volume is area x mean change.  That volume
reads the change as vertical: right for roofs and ground with 'up' normals, near zero for
facades (tiny footprint) - use a DoD for volumes where it matters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from processing.change._common import (
    F32_PAD,
    Searcher,
    as_points,
    centre_of,
    extent_of,
    finite_or_none,
    padded,
    positive,
)
from processing.change.dod import DoDResult, volume_uncertainty
from processing.errors import ProcessingError


@dataclass
class ChangeRegion:
    """One connected region.  ``volume`` is signed (m^3: > 0 added, < 0 removed);
    ``volume_uncertainty`` (95 %) only for grid regions; ``count`` is cells or points."""

    id: int
    sign: str
    area: float
    volume: float
    centroid: tuple[float, float, float]
    bbox_min: tuple[float, float, float]
    bbox_max: tuple[float, float, float]
    count: int
    max_abs_change: float
    mean_change: float
    volume_uncertainty: float | None = None
    # grid regions: beside the region lie cells that only one epoch measured (outside a
    # scan's reach, facades a ground scan saw): the object may go on there, so the volume is
    # a lower bound
    partial: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "sign": self.sign, "area": self.area,
                "volume": finite_or_none(self.volume),
                "volume_uncertainty95": (None if self.volume_uncertainty is None
                                         else finite_or_none(self.volume_uncertainty)),
                "centroid": [finite_or_none(v) for v in self.centroid],
                "bbox_min": [finite_or_none(v) for v in self.bbox_min],
                "bbox_max": [finite_or_none(v) for v in self.bbox_max],
                "count": self.count, "max_abs_change": self.max_abs_change,
                "mean_change": self.mean_change, "partial": self.partial}


@dataclass
class RegionsResult:
    """Regions sorted by |volume| (largest first, ids 1..n in that order) and ``labels``: the
    region id of every cell (grid) or point (0 = in no kept region)."""

    kind: str
    regions: list[ChangeRegion]
    labels: np.ndarray
    dropped: int
    params: dict[str, Any] = field(default_factory=dict)

    def to_summary(self) -> dict[str, Any]:
        added = [r for r in self.regions if r.sign == "added"]
        removed = [r for r in self.regions if r.sign == "removed"]
        return {"kind": self.kind, "parameters": dict(self.params),
                "count": len(self.regions), "dropped": self.dropped,
                "added": {"count": len(added), "area": sum(r.area for r in added),
                          "volume": finite_or_none(sum(r.volume for r in added))},
                "removed": {"count": len(removed), "area": sum(r.area for r in removed),
                            "volume": finite_or_none(sum(r.volume for r in removed))},
                "regions": [r.to_dict() for r in self.regions]}


def _finish(kind: str, regions: list[ChangeRegion], labels: np.ndarray, dropped: int,
            params: dict[str, Any]) -> RegionsResult:
    """Sort the kept regions by |volume| then area, renumber them 1..n and relabel."""
    order = sorted(regions, key=lambda r: (-abs(np.nan_to_num(r.volume)), -r.area, r.id))
    remap = np.zeros(len(regions) + 1, dtype=np.int64)
    for new, r in enumerate(order, start=1):
        remap[r.id] = new
        r.id = new
    return RegionsResult(kind=kind, regions=order, labels=remap[labels], dropped=dropped,
                         params=params)


def _holds(lab: np.ndarray, n: int, n_add: int, dz: np.ndarray, var: np.ndarray,
           measured: np.ndarray, area: float, reg: float) -> np.ndarray:
    """Per label 1..n: the volume has the region's sign (labels <= n_add are added) and
    exceeds its 95 % uncertainty, and a significant cell was measured in both epochs."""
    flat = lab.ravel()

    def total(w: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=np.nan_to_num(w).ravel(), minlength=n + 1)[1:]

    vol = total(dz) * area
    u = 1.96 * (area * np.sqrt(total(var)) + area * total(np.ones_like(dz)) * reg)
    added = np.arange(1, n + 1) <= n_add
    return (np.abs(vol) > u) & np.where(added, vol > 0, vol < 0) & (total(measured) > 0)


#: a region is partial when the cells around it that one epoch alone measured number more
#: than this share of its own cells (a data gap at a corner of an object is not enough)
PARTIAL_SHARE = 0.05


def grid_regions(result: DoDResult, *, min_area: float = 0.0, min_volume: float = 0.0,
                 connectivity: int = 8, rings: int | None = None) -> RegionsResult:
    """Regions of DoD change, one sign each: 8- (or 4-) connected components of significant
    cells, each grown by ``rings`` rings (default ``result.edge_rings``) into neighbouring
    cells that are not significant themselves — the cells an object's edge covers in part,
    whose change is real but smaller than the surface's spread there; regions of one sign
    that grow into each other merge.  A region's volume is
    the sum of dz x cell area over all its cells, so the region holds the object's whole
    volume; its 95 % uncertainty adds the cells' standard errors in quadrature and the
    registration error linearly.  A region is kept when its volume has its sign and exceeds
    that uncertainty and one of its significant cells holds points of both epochs; then
    ``min_area``/``min_volume`` apply, on the figures reported.  z of
    centroid and box come from the surface where the material is: the compared DEM for added
    regions, the reference DEM for removed ones."""
    if connectivity not in (4, 8):
        raise ProcessingError(f"connectivity must be 4 or 8, got {connectivity}")
    min_area = positive(min_area, "min_area", allow_zero=True)
    min_volume = positive(min_volume, "min_volume", allow_zero=True)
    rings = result.edge_rings if rings is None else int(rings)
    if rings < 0:
        raise ProcessingError(f"rings must be >= 0, got {rings}")
    structure = ndimage.generate_binary_structure(2, 2 if connectivity == 8 else 1)
    dz = result.dz
    area = result.cell_area
    xs, ys = result.cell_centres()
    X, Y = np.meshgrid(xs, ys)
    stat = result.params.statistic
    s1 = volume_uncertainty(result.reference, stat)
    s2 = volume_uncertainty(result.compared, stat)
    var = np.nan_to_num(s1 * s1 + s2 * s2)
    reg = result.params.registration_error
    sig = result.significant
    with np.errstate(invalid="ignore"):
        lab_add, n_add = ndimage.label(sig & (dz > 0), structure=structure)
        lab_rem, n_rem = ndimage.label(sig & (dz < 0), structure=structure)
    lab = lab_add + np.where(lab_rem > 0, lab_rem + n_add, 0)
    n = n_add + n_rem
    # Every cell of the rings counts, whatever its sign: picking cells by their change
    # would select noise of the region's sign and bias the volume.
    free = np.isfinite(dz) & ~sig
    for _ in range(rings):
        grown = ndimage.grey_dilation(lab, footprint=structure, mode="constant", cval=0)
        take = free & (lab == 0) & (grown > 0)
        if not take.any():
            break
        lab[take] = grown[take]
    # A region also needs one significant cell that both epochs measured (points of their
    # own in the cell): a 'surface' value carried from neighbouring cells reaches into data
    # gaps, such as the shadow airborne scans leave behind a tall wall.
    measured = sig & (result.reference.count > 0) & (result.compared.count > 0)
    # Regions that hold up on their own, and only they, merge where they grew into each
    # other: pieces of one object.  (Merging first would join the rings of the 1 in 20
    # unchanged cells the cells' 95 % test lets through, across open ground.)
    ok = np.r_[False, _holds(lab, n, n_add, dz, var, measured, area, reg)]
    grown_add, grown_rem = ok[lab] & (lab <= n_add), ok[lab] & (lab > n_add)
    lab_add, n_add = ndimage.label(grown_add, structure=structure)
    lab_rem, n_rem = ndimage.label(grown_rem, structure=structure)
    lab = lab_add + np.where(lab_rem > 0, lab_rem + n_add, 0)
    n = n_add + n_rem
    if n == 0:
        return _finish("grid", [], np.zeros(dz.shape, dtype=np.int64), 0,
                       {"min_area": min_area, "min_volume": min_volume,
                        "connectivity": connectivity, "rings": rings})
    added = np.arange(1, n + 1) <= n_add
    flat = lab.ravel()
    idx = np.arange(1, n + 1)

    def total(w: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=np.nan_to_num(w).ravel(), minlength=n + 1)[1:]

    cnt = np.bincount(flat, minlength=n + 1)[1:]
    vol = total(dz) * area
    u = 1.96 * (area * np.sqrt(total(var)) + area * cnt * reg)
    surface = np.where(added[np.maximum(lab, 1) - 1], result.compared.z, result.reference.z)
    cx, cy, cz = total(X) / cnt, total(Y) / cnt, total(surface) / cnt
    lo_z = ndimage.minimum(np.fmin(result.reference.z, result.compared.z), lab, idx)
    hi_z = ndimage.maximum(np.fmax(result.reference.z, result.compared.z), lab, idx)
    peak = ndimage.maximum(np.abs(np.nan_to_num(dz)), lab, idx)
    half = result.cell_size / 2.0
    a_k = cnt * area
    # Reported: regions whose volume has their sign and exceeds its own 95 % uncertainty
    # (the cells' 95 % test lets 1 in 20 unchanged cells through; a region of them, or one
    # grown into an unchanged edge, fails here), then the user's filters.
    seeded = np.bincount(flat, weights=measured.ravel(), minlength=n + 1)[1:] > 0
    keep = ((np.abs(vol) > u) & np.where(added, vol > 0, vol < 0) & seeded
            & (a_k >= min_area) & (np.abs(vol) >= min_volume))
    # cells next to a region that one epoch measured and the other did not
    has1, has2 = np.isfinite(result.reference.z), np.isfinite(result.compared.z)
    around = ndimage.grey_dilation(lab, footprint=structure, mode="constant", cval=0)
    one_sided = np.bincount(around[(has1 != has2) & (lab == 0)], minlength=n + 1)[1:]
    partial = one_sided > PARTIAL_SHARE * cnt
    rid_of = np.zeros(n + 1, dtype=np.int64)
    regions: list[ChangeRegion] = []
    for k, sl in enumerate(ndimage.find_objects(lab, max_label=n)):
        if not keep[k] or sl is None:
            continue
        rid = len(regions) + 1
        rid_of[k + 1] = rid
        regions.append(ChangeRegion(
            id=rid, sign="added" if added[k] else "removed", area=float(a_k[k]),
            volume=float(vol[k]), centroid=(float(cx[k]), float(cy[k]), float(cz[k])),
            bbox_min=(float(xs[sl[1].start] - half), float(ys[sl[0].start] - half),
                      float(lo_z[k])),
            bbox_max=(float(xs[sl[1].stop - 1] + half), float(ys[sl[0].stop - 1] + half),
                      float(hi_z[k])),
            count=int(cnt[k]), max_abs_change=float(peak[k]),
            mean_change=float(vol[k] / area / cnt[k]), volume_uncertainty=float(u[k]),
            partial=bool(partial[k])))
    return _finish("grid", regions, rid_of[lab], int((~keep).sum()),
                   {"min_area": min_area, "min_volume": min_volume,
                    "connectivity": connectivity, "rings": rings})


def _components(points: np.ndarray, link: float) -> np.ndarray:
    """Connected-component label of each point in the graph of pairs closer than ``link``
    (exact: a bounded kNN re-asked wherever it was truncated)."""
    n = points.shape[0]
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    c = points - centre_of(points)
    search = Searcher(c)
    bound = link + F32_PAD * max(extent_of(c), link)
    pts = padded(c)
    rows_all: list[np.ndarray] = []
    cols_all: list[np.ndarray] = []
    for rows, qi, pid in search.pairs(c, bound, search.k_for(c, bound)):
        rel = np.take(pts, pid, axis=0) - np.take(c[rows], qi, axis=0)
        ok = np.einsum("ij,ij->i", rel, rel) <= link * link
        rows_all.append(rows[qi[ok]])
        cols_all.append(pid[ok])
    r = np.concatenate(rows_all)
    col = np.concatenate(cols_all)
    graph = coo_matrix((np.ones(r.size, dtype=np.int8), (r, col)), shape=(n, n)).tocsr()
    return connected_components(graph, directed=False)[1]


def point_regions(points: np.ndarray, values: np.ndarray, significant: np.ndarray | None = None,
                  *, link_distance: float, footprint_cell: float | None = None,
                  min_area: float = 0.0, min_volume: float = 0.0, min_count: int = 1,
                  planar: bool = False, weights: np.ndarray | None = None,
                  sigma: np.ndarray | None = None, registration_error: float = 0.0,
                  volumes: bool = True, seeds: np.ndarray | None = None) -> RegionsResult:
    """Regions of significant points (M3C2 cores, C2C/C2M points, mesh vertices).

    values: signed change per point (> 0 added, < 0 removed); NaN = no value.
    significant: which points count (default: every point with a finite non-zero value).
    link_distance: points of one sign closer than this belong to one region (about twice the
        point or core spacing); ``planar=True`` measures it in plan (x, y) only, so a roof
        and the ground at its foot join (2.5D change).
    footprint_cell: XY cell edge for the area (default link_distance / 2).
    weights: plan area (m²) each point stands for; then volume = sum(value x weight) and,
        with ``sigma`` (each value's random std, m) and ``registration_error`` (m,
        systematic), its 95 % uncertainty 1.96 (sqrt(sum (w sigma)²) + reg x sum w).
        Without weights volume = footprint area x mean change.
    volumes: False where a volume is not defined for the values (C2C, C2M): regions carry
        volume None and ``min_volume`` does not apply.
    seeds: if given, only regions holding at least one seed point are kept.
    """
    pts = as_points(points, "points", allow_empty=True)
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size != pts.shape[0]:
        raise ProcessingError(f"{v.size} change values for {pts.shape[0]} points: pass one "
                              "value per point")
    link = positive(link_distance, "link_distance")
    cell = link / 2.0 if footprint_cell is None else positive(footprint_cell, "footprint_cell")
    min_area = positive(min_area, "min_area", allow_zero=True)
    min_volume = positive(min_volume, "min_volume", allow_zero=True)
    w = None if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    sd = None if sigma is None else np.nan_to_num(np.asarray(sigma, dtype=np.float64).ravel())
    for name, arr in (("weights", w), ("sigma", sd)):
        if arr is not None and arr.size != v.size:
            raise ProcessingError(f"{name} has {arr.size} entries for {v.size} points")
    sel = np.isfinite(v) & (v != 0)
    if significant is not None:
        sig = np.asarray(significant, dtype=bool).ravel()
        if sig.size != v.size:
            raise ProcessingError(f"significant mask has {sig.size} entries for {v.size} "
                                  "points")
        sel &= sig
    labels = np.zeros(v.size, dtype=np.int64)
    regions: list[ChangeRegion] = []
    dropped = 0
    for sign, mask in (("added", sel & (v > 0)), ("removed", sel & (v < 0))):
        members = np.flatnonzero(mask)
        if members.size == 0:
            continue
        p = pts[members]
        comp = _components(np.column_stack([p[:, :2], np.zeros(len(p))]) if planar else p,
                           link)
        nc = int(comp.max()) + 1
        cnt = np.bincount(comp, minlength=nc)
        mean = np.bincount(comp, weights=v[members], minlength=nc) / cnt
        cen = np.stack([np.bincount(comp, weights=p[:, j], minlength=nc) / cnt
                        for j in range(3)], axis=1)
        lo = np.full((nc, 3), np.inf)
        hi = np.full((nc, 3), -np.inf)
        for j in range(3):
            np.minimum.at(lo[:, j], comp, p[:, j])
            np.maximum.at(hi[:, j], comp, p[:, j])
        peak = np.zeros(nc)
        np.maximum.at(peak, comp, np.abs(v[members]))
        # Footprint: distinct (component, XY cell) pairs.
        ij = np.floor((p[:, :2] - p[:, :2].min(axis=0)) / cell).astype(np.int64)
        key = np.stack([comp, ij[:, 0], ij[:, 1]], axis=1)
        cells = np.bincount(np.unique(key, axis=0)[:, 0], minlength=nc)
        a_k = cells * cell * cell
        unc = np.full(nc, np.nan)
        if not volumes:
            vol = np.full(nc, np.nan)
        elif w is None:
            vol = a_k * mean
        else:
            wm = w[members]
            vol = np.bincount(comp, weights=v[members] * wm, minlength=nc)
            if sd is not None:
                rand = np.bincount(comp, weights=(wm * sd[members]) ** 2, minlength=nc)
                unc = 1.96 * (np.sqrt(rand) + registration_error
                              * np.bincount(comp, weights=wm, minlength=nc))
        keep = (cnt >= min_count) & (a_k >= min_area)
        if seeds is not None:
            keep &= np.bincount(comp, weights=np.asarray(seeds, bool)[members],
                                minlength=nc) > 0
        if volumes:
            keep &= (np.abs(vol) >= min_volume) & np.where(sign == "added", vol > 0, vol < 0)
        rid_of = np.zeros(nc, dtype=np.int64)
        for k in np.flatnonzero(keep):
            rid = len(regions) + 1
            rid_of[k] = rid
            regions.append(ChangeRegion(
                id=rid, sign=sign, area=float(a_k[k]), volume=float(vol[k]),
                volume_uncertainty=None if np.isnan(unc[k]) else float(unc[k]),
                centroid=(float(cen[k, 0]), float(cen[k, 1]), float(cen[k, 2])),
                bbox_min=(float(lo[k, 0]), float(lo[k, 1]), float(lo[k, 2])),
                bbox_max=(float(hi[k, 0]), float(hi[k, 1]), float(hi[k, 2])),
                count=int(cnt[k]), max_abs_change=float(peak[k]), mean_change=float(mean[k])))
        dropped += int((~keep).sum())
        labels[members] = rid_of[comp]
    return _finish("points", regions, labels, dropped,
                   {"link_distance": link, "footprint_cell": cell, "min_area": min_area,
                    "min_volume": min_volume, "min_count": int(min_count),
                    "planar": bool(planar), "volume": ("none" if not volumes else
                                                       "weights" if w is not None
                                                       else "area x mean")})
