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


def _has_height(crs: CRS) -> bool:
    return crs.is_compound or crs.is_geocentric or len(crs.axis_info) >= 3


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
    if not _has_height(src) and same_crs(src, horizontal_part(dst)):
        return _Plan(None, (_height_note(src_l, dst_l),))
    if not _has_height(dst) and same_crs(horizontal_part(src), dst):
        return _Plan(None, (f"{dst_l} has no vertical datum: heights of {src_l} are kept "
                            "unchanged",))
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
    return _Plan(transformer, tuple(notes))


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
    if plan.transformer is None:
        return np.subtract(a, o, dtype=np.float64)
    out = _transform(a, plan, name)
    out -= o
    return np.ascontiguousarray(out)


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
    if plan.transformer is None:
        return real
    return np.ascontiguousarray(_transform(real, plan, name))


__all__ = ["from_site_frame", "to_site_frame"]
