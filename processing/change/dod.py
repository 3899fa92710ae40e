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
# Hole filling: an empty cell is filled when at least this many of its 8 neighbours hold data.
FILL_MIN_NEIGHBOURS = 5


@dataclass
class DEM:
    """One epoch on the grid: ``z`` (NaN where empty), ``count``, ``sigma`` (population std of
    z in the cell; for filled cells the std of the neighbours used) and ``filled``."""

    z: np.ndarray
    count: np.ndarray
    sigma: np.ndarray
    filled: np.ndarray


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


def cell_uncertainty(dem: DEM, statistic: str) -> np.ndarray:
    """s_i of the module docstring: standard error for mean DEMs, the spread for max/min."""
    if statistic == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return dem.sigma / np.sqrt(np.maximum(dem.count, 1))
    return dem.sigma


def dod(reference: np.ndarray, compared: np.ndarray, params: DoDParams) -> DoDResult:
    """Difference of DEMs of ``compared`` minus ``reference`` on a common grid."""
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
    d1 = rasterise(p1, origin, (ny, nx), c, params.statistic)
    d2 = rasterise(p2, origin, (ny, nx), c, params.statistic)
    if params.fill_holes:
        d1, d2 = fill_holes(d1, params.fill_holes), fill_holes(d2, params.fill_holes)
    has1, has2 = np.isfinite(d1.z), np.isfinite(d2.z)
    both = has1 & has2
    dz = np.where(both, d2.z - d1.z, np.nan)
    s1 = cell_uncertainty(d1, params.statistic)
    s2 = cell_uncertainty(d2, params.statistic)
    var = np.where(both, s1 * s1 + s2 * s2, np.nan)
    reg = params.registration_error
    lod = 1.96 * (np.sqrt(var) + reg)
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
        cells_empty=int((~has1 & ~has2).sum()), params=params)
