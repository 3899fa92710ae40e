"""2.5D difference of DEMs (DoD): volumes gained and lost between two epochs.

Both epochs are rasterised on one grid (cell (0, 0) has its lower-left corner at ``origin``;
rows run along +y, columns along +x).  Per cell and epoch: the elevation (max, mean or min of
z), the point count and the population standard deviation of z.

Uncertainty (95 %), with A the cell area and s_i a cell's elevation uncertainty in epoch i —
sigma_i / sqrt(n_i) for a mean DEM (standard error), sigma_i for a max/min DEM (the spread of
the surface inside the cell, since an extreme does not average out) — and reg the vertical
registration error, systematic over the whole area:

    cell:   LoD95 = 1.96 * (sqrt(s_1**2 + s_2**2) + reg)
    volume over a set S of cells:
            U95(V) = 1.96 * (A * sqrt(sum_S (s_1**2 + s_2**2)) + A * |S| * reg)

Random cell errors add in quadrature; the registration error shifts every cell alike and adds
linearly (the same split M3C2's LoD makes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from processing.change._common import as_points
from processing.change.params import DoDParams
from processing.change.summary import histogram, statistics
from processing.errors import ProcessingError

# Largest grid (cells) a DoD may allocate: ~20 arrays of 8 bytes per cell.
MAX_CELLS = 200_000_000
# Largest plan grid the wall filter allocates (cells, ~5 arrays of 8 bytes each).
FINE_CELLS = 20_000_000
# Hole filling: an empty cell is filled when at least this many of its 8 neighbours hold data.
FILL_MIN_NEIGHBOURS = 5


@dataclass
class DEM:
    """One epoch on the grid: ``z`` (NaN where empty), ``count`` (points in the cell),
    ``sigma`` (population std of z in the cell; for filled cells the std of the neighbours
    used; for the 'surface' statistic the std of the surface over the cell's neighbourhood),
    ``filled`` (a value without a point in the cell) and ``coverage`` (share of the cell the
    value describes: 1 for point statistics, the sampled share for 'surface')."""

    z: np.ndarray
    count: np.ndarray
    sigma: np.ndarray
    filled: np.ndarray
    coverage: np.ndarray | None = None


@dataclass
class DoDResult:
    """DEMs of both epochs, ``dz = dem2 - dem1`` (NaN unless both have data), per-cell ``lod``
    and ``significant`` (|dz| > lod), and volumes in m^3 over the counted cells (all cells with
    data in both, or only significant ones): ``volume_gained`` (sum of dz > 0 times cell
    area), ``volume_lost`` (magnitude of the sum of dz < 0), ``volume_net`` (gained - lost),
    each with a 95 % uncertainty.  Cell counts: ``cells_compared`` (data in both),
    ``cells_only_reference``/``cells_only_compared`` (excluded: data in one epoch only) and
    ``cells_empty`` (neither)."""

    origin: tuple[float, float]
    cell_size: float
    reference: DEM
    compared: DEM
    dz: np.ndarray
    lod: np.ndarray
    significant: np.ndarray
    volume_gained: float
    volume_lost: float
    volume_net: float
    volume_gained_uncertainty: float
    volume_lost_uncertainty: float
    volume_net_uncertainty: float
    cells_compared: int
    cells_only_reference: int
    cells_only_compared: int
    cells_empty: int
    params: DoDParams
    # Rings of cells around significant ones that regions take in: the 'surface' DEM's
    # neighbourhood w (cells that near an edge are not significant) + the edge cell + one
    # for corners of rotated footprints; 0 for the other statistics.
    edge_rings: int = 0
    spacing: float | None = None  # plan point spacing the 'surface' DEM was built for (m)

    @property
    def shape(self) -> tuple[int, int]:
        return self.dz.shape

    @property
    def cell_area(self) -> float:
        return self.cell_size * self.cell_size

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x of each column and y of each row centre."""
        ny, nx = self.dz.shape
        return (self.origin[0] + (np.arange(nx) + 0.5) * self.cell_size,
                self.origin[1] + (np.arange(ny) + 0.5) * self.cell_size)

    def to_summary(self, bins: int = 41) -> dict[str, Any]:
        ok = np.isfinite(self.dz)
        return {
            "method": "dod",
            "parameters": self.params.to_dict(),
            "grid": {"origin": list(self.origin), "cell_size": self.cell_size,
                     "shape": list(self.dz.shape)},
            "cells": {"compared": self.cells_compared,
                      "only_reference": self.cells_only_reference,
                      "only_compared": self.cells_only_compared, "empty": self.cells_empty,
                      "significant": int(self.significant.sum()),
                      "filled_reference": int(self.reference.filled.sum()),
                      "filled_compared": int(self.compared.filled.sum())},
            "volume": {"gained": self.volume_gained, "lost": self.volume_lost,
                       "net": self.volume_net,
                       "gained_uncertainty95": self.volume_gained_uncertainty,
                       "lost_uncertainty95": self.volume_lost_uncertainty,
                       "net_uncertainty95": self.volume_net_uncertainty,
                       "area_compared": self.cells_compared * self.cell_area},
            "statistics": statistics(self.dz[ok], self.significant[ok]),
            "histogram": histogram(self.dz[ok], bins=bins),
        }


def rasterise(points: np.ndarray, origin: tuple[float, float], shape: tuple[int, int],
              cell_size: float, statistic: str = "max") -> DEM:
    """Per-cell elevation (max/mean/min of z), count and std of z of ``points``."""
    ny, nx = shape
    ix = np.floor((points[:, 0] - origin[0]) / cell_size).astype(np.int64)
    iy = np.floor((points[:, 1] - origin[1]) / cell_size).astype(np.int64)
    inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    flat = (iy * nx + ix)[inside]
    z = points[inside, 2]
    size = ny * nx
    count = np.bincount(flat, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(flat, weights=z, minlength=size) / count
        dev = z - mean[flat]
        sigma = np.sqrt(np.bincount(flat, weights=dev * dev, minlength=size) / count)
    if statistic == "mean":
        elev = mean
    else:
        elev = np.full(size, -np.inf if statistic == "max" else np.inf)
        (np.maximum if statistic == "max" else np.minimum).at(elev, flat, z)
        elev[count == 0] = np.nan
    return DEM(z=elev.reshape(shape), count=count.reshape(shape).astype(np.int32),
               sigma=sigma.reshape(shape), filled=np.zeros(shape, dtype=bool))


def fill_holes(dem: DEM, rounds: int) -> DEM:
    """Fill empty cells having >= 5 of 8 neighbours with data by their mean, ``rounds`` times;
    a filled cell's sigma is the std of those neighbours (the interpolation's spread)."""
    z, sigma, filled = dem.z.copy(), dem.sigma.copy(), dem.filled.copy()
    kernel = np.ones((3, 3))
    kernel[1, 1] = 0.0
    for _ in range(rounds):
        valid = np.isfinite(z)
        zz = np.where(valid, z, 0.0)
        n = ndimage.correlate(valid.astype(np.float64), kernel, mode="constant")
        s1 = ndimage.correlate(zz, kernel, mode="constant")
        s2 = ndimage.correlate(zz * zz, kernel, mode="constant")
        todo = ~valid & (n >= FILL_MIN_NEIGHBOURS)
        if not todo.any():
            break
        mean = s1[todo] / n[todo]
        z[todo] = mean
        sigma[todo] = np.sqrt(np.maximum(s2[todo] / n[todo] - mean * mean, 0.0))
        filled[todo] = True
    return DEM(z=z, count=dem.count, sigma=sigma, filled=filled)


def plan_spacing(points: np.ndarray) -> float:
    """Mean plan distance between points (m): 1 / sqrt(points per m² of occupied area), the
    area counted in 2 m cells (large enough that sparse airborne data fills them)."""
    g = 2.0
    ij = np.floor((points[:, :2] - points[:, :2].min(axis=0)) / g).astype(np.int64)
    occupied = np.unique(ij[:, 0] * (int(ij[:, 1].max()) + 1) + ij[:, 1]).size
    return float(np.sqrt(occupied * g * g / points.shape[0]))


def wall_points(points: np.ndarray, spacing: float) -> np.ndarray:
    """Points in the middle of a steep face (a wall): within 1.5 half-spacings in plan there
    are points both more than ``delta`` above and below them, with delta the height a
    72-degree slope gains over that reach (at least 0.5 m).  Roof edges and wall feet have
    points on one side only and stay."""
    lo = points[:, :2].min(axis=0)
    span = points[:, :2].max(axis=0) - lo
    # half a spacing, coarser where that grid would pass FINE_CELLS (city-scale tiles)
    g = max(spacing / 2.0, float(np.sqrt(span[0] * span[1] / FINE_CELLS)))
    delta = max(0.5, 4.5 * g)
    ij = np.floor((points[:, :2] - lo) / g).astype(np.int64)
    nx, ny = int(ij[:, 0].max()) + 1, int(ij[:, 1].max()) + 1
    flat = ij[:, 1] * nx + ij[:, 0]
    top = np.full(nx * ny, -np.inf)
    bottom = np.full(nx * ny, np.inf)
    order = np.argsort(flat, kind="stable")
    f, z = flat[order], points[order, 2]
    starts = np.flatnonzero(np.r_[True, f[1:] != f[:-1]])
    top[f[starts]] = np.maximum.reduceat(z, starts)
    bottom[f[starts]] = np.minimum.reduceat(z, starts)
    top = ndimage.maximum_filter(top.reshape(ny, nx), size=3, mode="nearest").ravel()
    bottom = ndimage.minimum_filter(bottom.reshape(ny, nx), size=3, mode="nearest").ravel()
    return (top[flat] > points[:, 2] + delta) & (bottom[flat] < points[:, 2] - delta)


def _lattice(origin: tuple[float, float], nx: int, rows: range, k: int, cell_size: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """x, y of the k x k samples of every cell in ``rows`` (row-major, sample rows inside)."""
    sub = (np.arange(k) + 0.5) / k * cell_size
    ys = origin[1] + np.repeat(np.asarray(rows) * cell_size, k) + np.tile(sub, len(rows))
    xs = origin[0] + np.repeat(np.arange(nx) * cell_size, k) + np.tile(sub, nx)
    X, Y = np.meshgrid(xs, ys)
    return X.ravel(), Y.ravel()


def _sampled_dem(sample: Any, origin: tuple[float, float], shape: tuple[int, int],
                 cell_size: float, k: int, w: int, count: np.ndarray) -> DEM:
    """A DEM from ``sample(x, y) -> z`` (NaN: nothing there) on k x k samples per cell: the
    mean of each cell's samples, their coverage, and the std of the samples over the cell and
    ``w`` cells around it."""
    ny, nx = shape
    s1 = np.zeros(shape)
    s2 = np.zeros(shape)
    cnt = np.zeros(shape)
    rows_per = max(1, 2_000_000 // (nx * k * k))
    for r0 in range(0, ny, rows_per):
        r1 = min(ny, r0 + rows_per)
        z = sample(*_lattice(origin, nx, range(r0, r1), k, cell_size))
        ok = np.isfinite(z)
        z = np.where(ok, z, 0.0)
        blk = (r1 - r0, k, nx, k)
        s1[r0:r1] = z.reshape(blk).sum(axis=(1, 3))
        s2[r0:r1] = (z * z).reshape(blk).sum(axis=(1, 3))
        cnt[r0:r1] = ok.reshape(blk).sum(axis=(1, 3))
    window = np.ones((2 * w + 1, 2 * w + 1))
    ws1, ws2, wn = (ndimage.correlate(a, window, mode="constant") for a in (s1, s2, cnt))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(cnt > 0, s1 / cnt, np.nan)
        mean_w = ws1 / wn
        sigma = np.sqrt(np.maximum(ws2 / wn - mean_w * mean_w, 0.0))
    sigma[cnt == 0] = np.nan
    return DEM(z=z, count=count.astype(np.int32), sigma=sigma,
               filled=(cnt > 0) & (count == 0), coverage=cnt / (k * k))


def lattice_size(cell_size: float, spacing: float) -> tuple[int, int]:
    """k (samples per cell edge, at most half a spacing apart; 2..8) and w (cells around a
    cell that its spread is taken over: one spacing)."""
    k = int(np.clip(np.ceil(2.0 * cell_size / spacing), 2, 8))
    return k, max(1, int(np.ceil(spacing / cell_size)))


def _cell_counts(points: np.ndarray, origin: tuple[float, float], shape: tuple[int, int],
                 cell_size: float) -> np.ndarray:
    ny, nx = shape
    ix = np.floor((points[:, 0] - origin[0]) / cell_size).astype(np.int64)
    iy = np.floor((points[:, 1] - origin[1]) / cell_size).astype(np.int64)
    inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    return np.bincount((iy * nx + ix)[inside], minlength=ny * nx).reshape(shape)


def mesh_surface_dem(vertices: np.ndarray, faces: np.ndarray, origin: tuple[float, float],
                     shape: tuple[int, int], cell_size: float, spacing: float) -> DEM:
    """The mean height over each cell of the top of a mesh: the same k x k lattice as
    ``surface_dem``, each sample the first hit of a ray cast straight down (Open3D), so
    hidden parts (ground under a roof, the inside of walls) never count.  ``count`` is the
    samples that hit the mesh."""
    import open3d as o3d

    v = np.asarray(vertices, np.float64)
    centre = v.min(axis=0)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(v - centre, np.float32)),
                        o3d.core.Tensor(np.ascontiguousarray(faces, np.uint32)))
    top = float(v[:, 2].max() - centre[2]) + 1.0

    def sample(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        rays = np.zeros((x.size, 6), np.float32)
        rays[:, 0], rays[:, 1], rays[:, 2] = x - centre[0], y - centre[1], top
        rays[:, 5] = -1.0
        t = scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy().astype(np.float64)
        return np.where(np.isfinite(t), centre[2] + top - t, np.nan)

    k, w = lattice_size(cell_size, spacing)
    dem = _sampled_dem(sample, origin, shape, cell_size, k, w, np.zeros(shape))
    # the mesh measured every sample that hit it
    dem.count = np.round(np.nan_to_num(dem.coverage) * k * k).astype(np.int32)
    dem.filled[:] = False
    return dem


def surface_dem(points: np.ndarray, origin: tuple[float, float], shape: tuple[int, int],
                cell_size: float, spacing: float | None = None) -> tuple[DEM, int, float]:
    """The mean height of the surface over each cell, from the surface the points sample.

    Every cell is sampled on a k x k lattice (sub-cells at most half a point spacing apart);
    each sample takes the height of the nearest point in plan within 1.5 point spacings
    (nearest-neighbour interpolation, i.e. each point stands for its Voronoi cell) and the
    cell's value is the mean of its samples.  Airborne points sample the top surface evenly
    in plan, so where an edge crosses a cell the share of samples on each side is, on
    average, the share of the cell's area on that side: the value is the area-weighted mean
    height, and summing value x cell area gives the volume, without an edge factor.  Wall
    points lie on the edge line itself; their Voronoi cells straddle it evenly and their mean
    height is half the wall's, which is again the area-weighted mean there.

    ``sigma`` is the std of the samples over the cell and ``w`` cells around it (w covers one
    point spacing): how much the surface varies where the cell's value came from.  Points in
    the middle of walls (``wall_points``) are left out first: they add nothing on average
    but noise.  Returns (dem, w, spacing).
    """
    from pykdtree.kdtree import KDTree

    if spacing is None:
        spacing = plan_spacing(points)
    k, w = lattice_size(cell_size, spacing)
    top = points[~wall_points(points, spacing)]
    centre = top[:, :2].min(axis=0)
    tree = KDTree(np.ascontiguousarray(top[:, :2] - centre, dtype=np.float32), leafsize=16)
    reach = 1.5 * spacing

    def sample(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        q = np.column_stack([x - centre[0], y - centre[1]]).astype(np.float32)
        _, idx = tree.query(q, k=1, distance_upper_bound=reach)
        ok = idx < top.shape[0]
        return np.where(ok, top[np.minimum(idx, top.shape[0] - 1), 2], np.nan)

    dem = _sampled_dem(sample, origin, shape, cell_size, k, w,
                       _cell_counts(top, origin, shape, cell_size))
    return dem, w, float(spacing)


def cell_uncertainty(dem: DEM, statistic: str) -> np.ndarray:
    """A cell's elevation spread for its level of detection: the standard error for mean
    DEMs; the spread of the surface in (around) the cell for max/min/surface DEMs, since a
    change smaller than that can come from where the samples fell."""
    if statistic == "mean":
        return standard_error(dem)
    return dem.sigma


def standard_error(dem: DEM) -> np.ndarray:
    """Standard error of a cell's elevation, sigma / sqrt(n) (n >= 1): what a cell adds to a
    volume's random error under the mean and surface statistics."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return dem.sigma / np.sqrt(np.maximum(dem.count, 1))


def volume_uncertainty(dem: DEM, statistic: str) -> np.ndarray:
    """s_i of a cell in the volume's random error (see the module docstring)."""
    return standard_error(dem) if statistic in ("mean", "surface") else dem.sigma


Mesh = tuple[np.ndarray, np.ndarray]


def facade_cells(points: np.ndarray, origin: tuple[float, float], shape: tuple[int, int],
                 cell_size: float, spacing: float) -> np.ndarray:
    """Cells a scan from the ground saw a wall in, and the cells beside them: such a scan saw
    the wall's face and the ground at its foot, not the top over it (a roof seen from the
    street), so its surface there is not the top surface and a DoD must not use it."""
    walls = points[wall_points(points, spacing)]
    mask = _cell_counts(walls, origin, shape, cell_size) > 0
    return ndimage.binary_dilation(mask, iterations=1)


def dod(reference: np.ndarray, compared: np.ndarray, params: DoDParams, *,
        reference_mesh: Mesh | None = None, compared_mesh: Mesh | None = None,
        from_ground: tuple[bool, bool] = (False, False)) -> DoDResult:
    """Difference of DEMs of ``compared`` minus ``reference`` on a common grid.

    With the 'surface' statistic an epoch that came as a mesh (photogrammetry) can pass it
    as ``(vertices, faces)``: its DEM is then the mesh's top (``mesh_surface_dem``) instead
    of its points, which sample walls and hidden ground as well.  ``from_ground`` marks
    epochs scanned from the ground (terrestrial, mobile): their ``facade_cells`` get no
    value."""
    if not isinstance(params, DoDParams):
        raise ProcessingError(f"params must be DoDParams, got {type(params).__name__}")
    p1 = as_points(reference, "reference epoch")
    p2 = as_points(compared, "compared epoch")
    c = params.cell_size
    lo = np.minimum(p1[:, :2].min(axis=0), p2[:, :2].min(axis=0))
    hi = np.maximum(p1[:, :2].max(axis=0), p2[:, :2].max(axis=0))
    origin = (float(np.floor(lo[0] / c) * c), float(np.floor(lo[1] / c) * c))
    nx = int(np.floor((hi[0] - origin[0]) / c)) + 1
    ny = int(np.floor((hi[1] - origin[1]) / c)) + 1
    if nx * ny > MAX_CELLS:
        raise ProcessingError(
            f"a DoD with cell_size {c:g} m over {hi[0] - lo[0]:.0f} x {hi[1] - lo[1]:.0f} m "
            f"needs {nx * ny:,} cells (limit {MAX_CELLS:,}): use a larger cell_size or crop "
            "the epochs to the area of interest")
    rings, spacing = 0, None
    if params.statistic == "surface":
        # One sample lattice for both epochs: the sparser epoch's spacing.
        spacing = max(plan_spacing(p1), plan_spacing(p2))

        def surface(points: np.ndarray, mesh: Mesh | None) -> DEM:
            if mesh is None:
                return surface_dem(points, origin, (ny, nx), c, spacing)[0]
            return mesh_surface_dem(mesh[0], mesh[1], origin, (ny, nx), c, spacing)

        d1, d2 = surface(p1, reference_mesh), surface(p2, compared_mesh)
        for d, p, ground in ((d1, p1, from_ground[0]), (d2, p2, from_ground[1])):
            if ground:
                d.z[facade_cells(p, origin, (ny, nx), c, spacing)] = np.nan
        rings = lattice_size(c, spacing)[1] + 2
    else:
        d1 = rasterise(p1, origin, (ny, nx), c, params.statistic)
        d2 = rasterise(p2, origin, (ny, nx), c, params.statistic)
    if params.fill_holes and params.statistic != "surface":
        d1, d2 = fill_holes(d1, params.fill_holes), fill_holes(d2, params.fill_holes)
    has1, has2 = np.isfinite(d1.z), np.isfinite(d2.z)
    both = has1 & has2
    dz = np.where(both, d2.z - d1.z, np.nan)
    s1 = cell_uncertainty(d1, params.statistic)
    s2 = cell_uncertainty(d2, params.statistic)
    reg = params.registration_error
    lod = np.where(both, 1.96 * (np.sqrt(s1 * s1 + s2 * s2) + reg), np.nan)
    v1 = volume_uncertainty(d1, params.statistic)
    v2 = volume_uncertainty(d2, params.statistic)
    var = np.where(both, v1 * v1 + v2 * v2, np.nan)
    with np.errstate(invalid="ignore"):
        significant = both & (np.abs(dz) > lod)

    counted = significant if params.only_significant else both
    area = c * c

    def volume(mask: np.ndarray) -> tuple[float, float]:
        v = float(dz[mask].sum() * area)
        u = 1.96 * (area * float(np.sqrt(var[mask].sum())) + area * int(mask.sum()) * reg)
        return v, u

    with np.errstate(invalid="ignore"):
        gained, u_gained = volume(counted & (dz > 0))
        lost, u_lost = volume(counted & (dz < 0))
    net, u_net = volume(counted)
    return DoDResult(
        origin=origin, cell_size=c, reference=d1, compared=d2, dz=dz, lod=lod,
        significant=significant, volume_gained=gained, volume_lost=-lost, volume_net=net,
        volume_gained_uncertainty=u_gained, volume_lost_uncertainty=u_lost,
        volume_net_uncertainty=u_net, cells_compared=int(both.sum()),
        cells_only_reference=int((has1 & ~has2).sum()),
        cells_only_compared=int((has2 & ~has1).sum()),
        cells_empty=int((~has1 & ~has2).sum()), params=params, edge_rings=rings,
        spacing=spacing)
