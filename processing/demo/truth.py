"""Ground truth of the demo site's changes, for checking change detection against it.

Every feature that stands in one epoch and not in another is a change between them: ``built``
or ``removed`` for buildings, ``planted``/``felled`` for trees, ``earthworks`` for the heap.
Volumes are analytic (prisms, gabled prisms, a spherical cap: exact above the ground surface);
tree volumes (trunk cylinder + crown ellipsoid) are marked approximate.  ``volume_2p5d_m3`` is
what a difference of elevation models would see (the column under the top surface): equal to
the volume for solids standing on the ground, larger for a tree with air under its crown.
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np

from processing.demo.scene import EPOCHS, LABEL_NAMES, Feature, Label, Site

METHOD = {
    Label.BUILDING: "analytic: footprint area x eave height + gable prism (area x ridge / 2)",
    Label.PAVILION: "analytic: footprint area x height (box on a planar ground)",
    Label.EARTHWORK: "analytic: spherical cap pi*h*(3a^2 + h^2)/6 above the ground surface",
    Label.TREE: "approximate: trunk cylinder to the crown base + crown ellipsoid 4/3*pi*a^2*c",
}


def _kind(feature: Feature, added: bool) -> str:
    if feature.label == Label.EARTHWORK:
        return "earthworks"
    if feature.label == Label.TREE:
        return "planted" if added else "felled"
    return "built" if added else "removed"


def _round(a, nd: int = 3):
    return np.round(np.asarray(a, np.float64), nd).tolist()


def _change(feature: Feature, a: str, b: str, added: bool) -> dict:
    verts = (feature.solid or feature.surface).vertices
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    if feature.label == Label.TREE:                 # from the ground up, not from the roots
        e = feature.extra
        ground = float(feature.centroid[2] - e["crown_base_m"] - e["crown_half_height_m"])
        lo = np.array([lo[0], lo[1], max(lo[2], ground)])
    return {
        "id": f"{_kind(feature, added)}-{feature.id}",
        "feature": feature.id,
        "label": LABEL_NAMES[feature.label],
        "kind": _kind(feature, added),
        "sign": "added" if added else "removed",
        "from_epoch": a,
        "to_epoch": b,
        "volume_m3": round(float(feature.volume), 3),
        "volume_2p5d_m3": round(float(feature.volume_2p5d), 3),
        "area_m2": round(float(feature.area), 3),
        "height_m": round(float(feature.height), 3),
        "centroid": _round(feature.centroid),
        "bbox": {"min": _round(lo), "max": _round(hi)},
        "footprint": _round(feature.footprint),
        "approximate": bool(feature.approximate),
        "volume_method": METHOD.get(feature.label, "analytic"),
        "parameters": {k: round(float(v), 4) for k, v in sorted(feature.extra.items())},
    }


def changes_between(site: Site, a: str, b: str) -> list[dict]:
    """Every change from epoch ``a`` to epoch ``b`` (features gone, then features new)."""
    out = []
    for f in site.features:
        in_a, in_b = a in f.epochs, b in f.epochs
        if in_a != in_b:
            out.append(_change(f, a, b, added=in_b))
    return out


def truth_document(site: Site, site_id: str, crs: str,
                   origin: tuple[float, float, float]) -> dict:
    """Comparisons of consecutive epochs and of the first with the last."""
    pairs = list(pairwise(EPOCHS)) + [(EPOCHS[0], EPOCHS[-1])]
    comparisons = []
    for a, b in pairs:
        ch = changes_between(site, a, b)
        comparisons.append({
            "from_epoch": a, "to_epoch": b, "changes": ch,
            "volume_added_m3": round(sum(c["volume_m3"] for c in ch if c["sign"] == "added"), 3),
            "volume_removed_m3": round(sum(c["volume_m3"] for c in ch if c["sign"] == "removed"),
                                       3)})
    return {
        "site": site_id,
        "frame": "site: metres from the origin, +x east, +y north, +z up",
        "crs": crs,
        "origin": list(origin),
        "seed": site.seed,
        "epochs": list(EPOCHS),
        "unchanged": [f.id for f in site.features if f.epochs == EPOCHS],
        "comparisons": comparisons,
    }


def write_truth(doc: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
