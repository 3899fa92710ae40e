"""The privacy step of ingest: blur faces and plates in textures, remove transient points.

``apply(epoch, manifest, clouds, meshes, prov, work)`` runs between georeferencing and cleaning,
on each source's own points (one cloud per station or strip, in the site frame) and on the
delivered meshes' textures.  What it did goes into ``epoch.json`` as numbers only — images,
detections, blurred texels, points removed per reason — never the faces, plates or positions
themselves.  Those stay with the originals in the restricted object (``restricted_files``):
``privacy/detections.json`` (the boxes per texture) and ``privacy/removed.npz`` (per source, the
indices of the removed points in the file's order), so an archivist can check and re-derive
what the step did.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from processing import georef
from processing.privacy import charts, ghosts, images
from processing.types import Mesh, PointCloud

RESTRICTED_DIR = "privacy-restricted"     # in the ingest work folder
AIRBORNE = "airborne-lidar"


def settings(epoch) -> dict[str, Any]:
    """The epoch's privacy settings as recorded (and as part of the epoch's input key)."""
    p = epoch.privacy
    return {"enabled": bool(epoch.privacy_enabled), "faces": p.faces, "plates": p.plates,
            "transients": p.transients, "remove_classes": list(p.remove_classes),
            "stations": [list(s.station) if s.station else None for s in epoch.sources]}


def _scans(epoch, manifest, clouds: list[PointCloud], sources: list) -> tuple[list, list[str]]:
    """The ghost check's view of each source, and the names of those that cannot see."""
    scans, blind = [], []
    for src, cloud in zip(sources, clouds, strict=True):
        if str(epoch.capture) == AIRBORNE:
            rn = cloud.extra.get("return_number")
            first = None if rn is None else np.asarray(rn) <= 1
            scans.append(ghosts.Scan(cloud.xyz, ghosts.VERTICAL, first=first))
        elif src.station is not None:
            pos = georef.to_site_frame(np.asarray([src.station], np.float64), src.crs or cloud.crs,
                                       manifest.crs, manifest.origin, source=cloud.source)[0]
            scans.append(ghosts.Scan(cloud.xyz, ghosts.STATION, sensor=pos))
        else:
            # judged by the others, but cannot judge them: where was it looking from?
            scans.append(ghosts.Scan(cloud.xyz, ghosts.BLIND))
            blind.append(src.name)
    return scans, blind


def apply(epoch, manifest, clouds: list[PointCloud], meshes: list[Mesh], prov, work: Path,
          cloud_sources: list, mesh_sources: list) -> tuple[list[PointCloud], list[Mesh]]:
    """Run the step (if enabled) and return the public clouds and meshes."""
    cfg = settings(epoch)
    record: dict[str, Any] = {"enabled": cfg["enabled"], "settings": {
        k: v for k, v in cfg.items() if k not in ("enabled", "stations")}}
    prov.statistics["privacy"] = record
    if not cfg["enabled"]:
        prov.event("privacy", "success", "privacy step off for this epoch (manifest or capture "
                   "default); products are the unfiltered data")
        return clouds, meshes
    out_dir = work / RESTRICTED_DIR
    out_dir.mkdir(exist_ok=True)
    t0 = time.perf_counter()

    # --- textures -----------------------------------------------------------------------------
    tex_stats = {"images": 0, "faces": 0, "plates": 0, "blurred_texels": 0, "texels": 0}
    detections: dict[str, list] = {}
    public_meshes = []
    for src, mesh in zip(mesh_sources, meshes, strict=True):
        if mesh.texture is None or not (cfg["faces"] or cfg["plates"]):
            public_meshes.append(mesh)
            continue
        # charts searched in the turn that puts the world's up at the top (see charts.py);
        # a mesh still in its own local frame (placed by control points later) has no known
        # up: the whole texture in every turn
        regions = charts.regions(mesh) if mesh.frame == "site" else None
        result = images.anonymise(mesh.texture, faces=cfg["faces"], plates=cfg["plates"],
                                  regions=regions)
        counts = result.counts()
        tex_stats["images"] += 1
        tex_stats["faces"] += counts["faces"]
        tex_stats["plates"] += counts["plates"]
        tex_stats["blurred_texels"] += result.blurred_pixels()
        tex_stats["texels"] += int(mesh.texture.shape[0] * mesh.texture.shape[1])
        detections[src.name] = [b.to_list() for b in result.boxes]
        public_meshes.append(replace(mesh, texture=result.image))
    record["textures"] = tex_stats
    t1 = time.perf_counter()

    # --- points -------------------------------------------------------------------------------
    removed = {"seen_through": 0, "classification": 0}
    masks: dict[str, np.ndarray] = {}
    blind: list[str] = []
    if clouds:
        keep = [np.ones(len(c), bool) for c in clouds]
        if cfg["remove_classes"]:
            for k, c in zip(keep, clouds, strict=True):
                if c.classification is not None:
                    hit = np.isin(c.classification, np.asarray(cfg["remove_classes"], np.uint8))
                    removed["classification"] += int((hit & k).sum())
                    k &= ~hit
        if cfg["transients"] and len(clouds) > 1:
            scans, blind = _scans(epoch, manifest, clouds, cloud_sources)
            for k, m in zip(keep, ghosts.ghost_masks(scans), strict=True):
                removed["seen_through"] += int((m & k).sum())
                k &= ~m
        public_clouds = []
        for src, c, k in zip(cloud_sources, clouds, keep, strict=True):
            masks[src.name] = np.flatnonzero(~k).astype(np.uint32)
            public_clouds.append(c if k.all() else c.subset(k))
        clouds = public_clouds
    record["points"] = {"removed": removed, "sources": len(clouds),
                        "sources_without_station": blind,
                        "checked_by_visibility": bool(cfg["transients"] and len(clouds) > 1)}
    record["seconds"] = {"textures": round(t1 - t0, 3),
                         "points": round(time.perf_counter() - t1, 3)}

    (out_dir / "detections.json").write_text(json.dumps(
        {"format": "stadtzeit-privacy-detections/1", "epoch": epoch.id,
         "boxes": detections, "box_fields": ["x", "y", "w", "h", "kind"]}, indent=1) + "\n")
    buf = io.BytesIO()
    np.savez_compressed(buf, **{f"removed/{name}": m for name, m in masks.items()})
    (out_dir / "removed.npz").write_bytes(buf.getvalue())
    detail = (f"{tex_stats['faces']} face(s) and {tex_stats['plates']} plate(s) blurred in "
              f"{tex_stats['images']} texture(s); {removed['seen_through']} transient point(s) "
              f"removed (seen through by another scan), {removed['classification']} by class")
    if blind:
        detail += (f"; {len(blind)} source(s) without a station position could not check the "
                   "others (add `station = [x, y, z]` to them in the manifest)")
    prov.event("privacy", "success", detail)
    return clouds, public_meshes


def restricted_files(work: Path) -> dict[str, Path]:
    """Logical path (under the epoch) -> file of what the step keeps for archivists only."""
    folder = work / RESTRICTED_DIR
    if not folder.is_dir():
        return {}
    return {f"privacy/{p.name}": p for p in sorted(folder.iterdir())}


__all__ = ["apply", "restricted_files", "settings"]
