"""Plausibility checks on what a source file holds, each refusal naming the file.

They run where a bad file would otherwise fail much later with a message about something else
(NaN coordinates ended as "no points left after cleaning … outside_boundary=400", a file far
from the site as "write_glb …/lod0.glb: coordinates … are not site-local").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from processing.errors import ReaderError

#: site-frame coordinates beyond this are not "at the site" (processing.gltf refuses them too)
MAX_SITE_DISTANCE = 1e5


def check_read(xyz: np.ndarray, path: Path, what: str = "points") -> None:
    """Refuse coordinates that are NaN or infinite, or all at one position."""
    finite = np.isfinite(xyz).all(axis=1)
    if not finite.all():
        bad = int((~finite).sum())
        raise ReaderError(path, (
            f"holds NaN or infinite coordinates ({bad:,} of {len(xyz):,} {what}); the export "
            "wrote empty values — re-export it, or remove those rows"))
    if len(xyz) > 1 and (xyz == xyz[0]).all():
        x, y, z = xyz[0]
        raise ReaderError(path, (
            f"all {len(xyz):,} {what} are at one position ({x:g}, {y:g}, {z:g}); the file "
            "holds no surface — check the export (a unit or scale of 0?)"))


def check_at_site(xyz: np.ndarray, path: Path, crs: str | None) -> None:
    """Refuse a source whose site-frame coordinates lie far from the site origin."""
    far = float(np.abs(xyz).max(initial=0.0))
    if far > MAX_SITE_DISTANCE:
        centre = np.median(xyz, axis=0)
        raise ReaderError(path, (
            f"lies far from the site: up to {far / 1000:,.0f} km from the manifest's origin "
            f"(its centre is {np.linalg.norm(centre) / 1000:,.0f} km away); check the "
            f"file's CRS ({crs or 'none given'}) — for files without one set 'crs' on the "
            "source — the column order (east, north, height) and the site's origin"))
