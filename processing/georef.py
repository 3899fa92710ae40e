"""Source CRS -> site frame: reproject with PROJ when needed, then subtract the origin in float64.

The site frame is the site CRS shifted by the site origin, so that coordinates become small
enough for float32 later (UTM northings of ~5.7e6 m resolve only ~0.5 m in float32). Nothing
here silently changes heights: a transformation whose best method needs a grid that is not
installed is refused, and heights passed through unchanged (2D source CRS) are logged.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError
from pyproj.transformer import TransformerGroup

from processing.errors import ProcessingError
from processing.readers.crs import horizontal_part, parse_crs, same_crs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Plan:
    transformer: Transformer | None                  # None: same CRS, only the origin moves
    notes: tuple[str, ...]                           # warnings to repeat for every file
    z_factor: float = 1.0                            # heights PROJ passes through: unit change


def _has_height(crs: CRS) -> bool:
    return crs.is_compound or crs.is_geocentric or len(crs.axis_info) >= 3


def _length_unit(crs: CRS) -> tuple[str, float]:
    """(name, metres per unit) of the heights of ``crs``: its vertical axis, or, for a 2D CRS,
    its horizontal axes (the LAS convention: heights in the unit of the coordinates)."""
    axes = crs.axis_info
    vertical = [a for a in axes if a.direction == "up"]
    axis = vertical[0] if vertical else (axes[0] if axes else None)
    if axis is None or not axis.unit_conversion_factor or axis.unit_name in ("degree", "radian"):
        return "metre", 1.0
    return axis.unit_name, float(axis.unit_conversion_factor)


def _z_factor(src: CRS, dst: CRS, src_l: str, dst_l: str) -> tuple[float, tuple[str, ...]]:
    """Heights that PROJ passes through unchanged (one side without a vertical CRS) still
    change unit when the two sides' units differ (a 2D CRS in US feet to a metric site)."""
    (su, sf), (du, df) = _length_unit(src), _length_unit(dst)
    if abs(sf - df) < 1e-12:
        return 1.0, ()
    return sf / df, (f"{src_l} states no vertical CRS: its heights are taken to be in {su}, "
                     f"the unit of its coordinates, and converted to {du} (x {sf / df:.7g}); "
                     "if they are not, give the source a compound crs "
                     "(\"EPSG:horizontal+vertical\") in the manifest",)


def _label(crs_text: str) -> str:
    return crs_text if len(crs_text) < 40 else parse_crs(crs_text).name


def _height_note(src_l: str, dst_l: str) -> str:
    return (f"{src_l} has no vertical datum: heights are taken unchanged as heights of {dst_l}; "
            "if they are not, give the source a compound crs (\"EPSG:horizontal+vertical\") "
            "in the manifest")


@lru_cache(maxsize=64)
def _plan(src_text: str, dst_text: str) -> _Plan:
    """How to go from one CRS to another; cached because it searches PROJ's database."""
    src, dst = parse_crs(src_text), parse_crs(dst_text)
    if src.equals(dst, ignore_axis_order=True):
        return _Plan(None, ())
    src_l, dst_l = _label(src_text), _label(dst_text)
    # Same horizontal CRS, vertical datum on one side only: nothing to compute (PROJ would
    # run an inverse + forward projection and add rounding noise).
    passthrough = not (_has_height(src) and _has_height(dst))
    z_factor, z_notes = _z_factor(src, dst, src_l, dst_l) if passthrough else (1.0, ())
    if not _has_height(src) and same_crs(src, horizontal_part(dst)):
        return _Plan(None, (_height_note(src_l, dst_l), *z_notes), z_factor)
    if not _has_height(dst) and same_crs(horizontal_part(src), dst):
        return _Plan(None, (f"{dst_l} has no vertical datum: heights of {src_l} are kept "
                            "unchanged", *z_notes), z_factor)
    with warnings.catch_warnings():                 # pyproj warns of missing grids: we raise
        warnings.simplefilter("ignore", UserWarning)
        group = TransformerGroup(src, dst, always_xy=True)
    if not group.best_available:
        grids = sorted({g.short_name for op in group.unavailable_operations for g in op.grids
                        if not g.available})
        raise ProcessingError(
            f"transforming {src_l} to {dst_l} needs the PROJ grid file(s) "
            f"{', '.join(grids) or '(unnamed)'}, which are not installed here, and without "
            "them the heights (or positions) would be wrong by up to metres. Install them into "
            "the PROJ data folder (e.g. `projsync --file NAME`, or copy them from "
            "https://cdn.proj.org), or deliver the scan in the site's CRS.")
    if not group.transformers:
        raise ProcessingError(f"PROJ knows no transformation from {src_l} to {dst_l}; "
                              "deliver the scan in the site's CRS")
    transformer = group.transformers[0]
    notes = []
    if "ballpark" in transformer.description.lower():
        notes.append(f"{src_l} -> {dst_l} uses a ballpark transformation "
                     f"({transformer.description}): accuracy unknown, possibly metres")
    if not _has_height(src) and _has_height(dst):
        notes.append(_height_note(src_l, dst_l))
    elif _has_height(src) and not _has_height(dst):
        notes.append(f"{dst_l} has no vertical datum: heights of {src_l} are kept unchanged")
    return _Plan(transformer, (*notes, *z_notes), z_factor)


def _checked_xyz(xyz: np.ndarray) -> np.ndarray:
    a = np.asarray(xyz)
    if a.ndim != 2 or a.shape[1] != 3:
        raise ValueError(f"expected an (N, 3) coordinate array, got shape {a.shape}")
    return a


def _transform(xyz: np.ndarray, plan: _Plan, source: object) -> np.ndarray:
    """xyz through the plan's transformer: one contiguous float64 column each, in place."""
    cols = np.array(xyz.T, dtype=np.float64, order="C")     # (3, N): contiguous rows for PROJ
    try:
        plan.transformer.transform(cols[0], cols[1], cols[2], inplace=True, errcheck=True)
    except ProjError as exc:
        raise ProcessingError(f"{source}: coordinates cannot be transformed "
                              f"({plan.transformer.description}): {exc}; check the source's "
                              "crs in the manifest") from exc
    if not np.isfinite(cols).all():
        bad = int((~np.isfinite(cols)).any(axis=0).sum())
        raise ProcessingError(f"{source}: {bad:,} points fall outside the area where the "
                              "transformation is defined; check the source's crs in the manifest")
    return cols.T


def _crs_text(crs: str | CRS) -> str:
    if isinstance(crs, CRS):
        return crs.to_wkt()
    try:
        parse_crs(crs)
    except CRSError as exc:
        raise ProcessingError(f"{crs!r} is not a CRS PROJ knows; use a code like "
                              "\"EPSG:25832+7837\"") from exc
    return crs


def _named_plan(src: str | CRS, dst: str | CRS, name: object) -> _Plan:
    """The cached plan, with the file named in any refusal."""
    try:
        return _plan(_crs_text(src), _crs_text(dst))
    except ProcessingError as exc:
        raise ProcessingError(f"{name}: {exc}") from exc


def to_site_frame(xyz: np.ndarray, src_crs: str | CRS | None, site_crs: str | CRS,
                  origin: Sequence[float], *,
                  source: str | os.PathLike | None = None) -> np.ndarray:
    """Coordinates in ``src_crs`` -> the site frame: site CRS minus ``origin``, float64 (N, 3).

    ``source`` names the file in error messages. Raises ProcessingError when the source has no
    CRS, when the CRS is unknown, or when an exact transformation needs a missing grid.
    """
    a = _checked_xyz(xyz)
    name = source if source is not None else "source"
    if src_crs is None:
        raise ProcessingError(
            f"{name}: the file carries no coordinate reference system; add crs = \"EPSG:…\" to "
            f"this source in the manifest (crs = \"{site_crs}\" if it is already in the site's "
            "system)")
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    plan = _named_plan(src_crs, site_crs, name)
    for note in plan.notes:
        log.warning("%s: %s", name, note)
    if plan.z_factor != 1.0:
        a = np.array(a, dtype=np.float64)
        a[:, 2] *= plan.z_factor
    if plan.transformer is None:
        return np.subtract(a, o, dtype=np.float64)
    out = _transform(a, plan, name)
    out -= o
    return np.ascontiguousarray(out)


def frame_notes(src_crs: str | CRS | None, site_crs: str | CRS, *,
                source: str | os.PathLike | None = None) -> list[str]:
    """The warnings moving coordinates from ``src_crs`` into the site CRS brings (heights
    taken unchanged, units assumed, ballpark transformations): for the provenance."""
    if src_crs is None:
        return []
    return list(_named_plan(src_crs, site_crs, source if source is not None else "source").notes)


def check_site_frame(site_crs: str, origin: Sequence[float], lat: float, lon: float, *,
                     max_distance_m: float = 100_000.0) -> None:
    """Refuse a site CRS that is not metric, and an origin far from the site's location (an
    ``origin = [0, 0, 0]`` left in a projected CRS puts every product millions of metres away
    from the data, where float32 cannot hold it)."""
    crs = parse_crs(_crs_text(site_crs))
    for axis in crs.axis_info:
        if axis.unit_name not in ("metre", "meter") and axis.unit_conversion_factor != 1.0:
            raise ProcessingError(
                f"the site's crs {site_crs} has {axis.name.lower()} in {axis.unit_name}; the "
                "site frame is in metres: choose the metric variant (e.g. a vertical CRS in "
                "metres such as EPSG:5703 instead of EPSG:6360); source files in feet are "
                "converted when they are read")
    if not crs.is_projected and not (crs.is_compound and crs.sub_crs_list[0].is_projected):
        return
    try:
        to_site = Transformer.from_crs("EPSG:4326", horizontal_part(crs), always_xy=True)
        e, n = to_site.transform(lon, lat, errcheck=True)
    except ProjError:
        return                     # location outside the CRS's area: nothing to compare
    o = np.asarray(origin, dtype=np.float64)
    d = float(np.hypot(o[0] - e, o[1] - n))
    if d > max_distance_m:
        raise ProcessingError(
            f"origin [{o[0]:.0f}, {o[1]:.0f}, {o[2]:.0f}] lies {d / 1000:,.0f} km from the "
            f"site's location ({lat:.5f}, {lon:.5f}), which is at about [{e:.0f}, {n:.0f}] in "
            f"{site_crs}; set origin near there (a round point near the middle of the site "
            "at ground level), or correct location")


def from_site_frame(xyz: np.ndarray, site_crs: str | CRS, origin: Sequence[float],
                    dst_crs: str | CRS | None = None, *,
                    source: str | os.PathLike | None = None) -> np.ndarray:
    """Site-frame coordinates -> real coordinates: add ``origin``, then reproject to ``dst_crs``
    (the site CRS itself when None). The inverse of ``to_site_frame``."""
    a = _checked_xyz(xyz)
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    real = np.add(a, o, dtype=np.float64)
    if dst_crs is None:
        return real
    name = source if source is not None else "site coordinates"
    plan = _named_plan(site_crs, dst_crs, name)
    for note in plan.notes:
        log.warning("%s: %s", name, note)
    real[:, 2] *= plan.z_factor
    if plan.transformer is None:
        return real
    return np.ascontiguousarray(_transform(real, plan, name))


__all__ = ["check_site_frame", "frame_notes", "from_site_frame", "to_site_frame"]
