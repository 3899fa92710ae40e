"""The privacy step of ingest: blur faces and plates in textures, remove transient points.

``apply(epoch, manifest, clouds, meshes, prov, work)`` runs between georeferencing and cleaning,
on each source's own points (one cloud per station or strip, in the site frame) and on the
delivered meshes' textures; the texture search goes on beside cleaning and registration, on a
worker thread, until ingest joins it (``Textures.join``) before the surface stage.  What it
did goes into ``epoch.json`` as numbers only — images, detections, blurred texels, points
removed per reason — never the faces, plates or positions themselves.  Those stay with the
originals in the restricted object (``restricted_files``): ``privacy/detections.json`` (the
boxes per texture) and ``privacy/removed.npz`` (per source, the indices of the removed points
in the file's order), so an archivist can check and re-derive what the step did.
"""

from __future__ import annotations

import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
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
          cloud_sources: list, mesh_sources: list
          ) -> tuple[list[PointCloud], list[Mesh], Textures]:
    """Run the step (if enabled): the public clouds, the meshes, and the texture search.

    The texture search runs on a worker thread (``Textures``) while ingest cleans and registers:
    those use the meshes' geometry only.  Until ``Textures.join`` the returned meshes carry no
    texture at all, so no stage can use an unblurred one; ``join`` gives the blurred textures."""
    cfg = settings(epoch)
    record: dict[str, Any] = {"enabled": cfg["enabled"], "settings": {
        k: v for k, v in cfg.items() if k not in ("enabled", "stations")}}
    prov.statistics["privacy"] = record
    if not cfg["enabled"]:
        prov.event("privacy", "success", "privacy step off for this epoch (manifest or capture "
                   "default); products are the unfiltered data")
        return clouds, meshes, Textures([mesh.texture for mesh in meshes])
    out_dir = work / RESTRICTED_DIR
    out_dir.mkdir(exist_ok=True)
    searched = [m.texture is not None and (cfg["faces"] or cfg["plates"]) for m in meshes]
    # the worker gets the meshes as read; ingest goes on with copies without the texture
    textures = Textures([m.texture for m in meshes], (cfg, meshes, mesh_sources, searched),
                        record, prov, out_dir, epoch.id)
    meshes = [replace(m, texture=None) if s else m for m, s in zip(meshes, searched, strict=True)]
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
    record["seconds"] = {"points": round(time.perf_counter() - t1, 3)}
    buf = io.BytesIO()
    np.savez_compressed(buf, **{f"removed/{name}": m for name, m in masks.items()})
    (out_dir / "removed.npz").write_bytes(buf.getvalue())
    detail = (f"{removed['seen_through']} transient point(s) removed (seen through by another "
              f"scan), {removed['classification']} by class")
    if blind:
        detail += (f"; {len(blind)} source(s) without a station position could not check the "
                   "others (add `station = [x, y, z]` to them in the manifest)")
    textures.points_detail = detail
    return clouds, meshes, textures


def _search_textures(cfg: dict[str, Any], meshes: list[Mesh], sources: list,
                     searched: list[bool]) -> dict[str, Any]:
    """Faces and plates found and blurred in every searched mesh's texture (the worker's job):
    the public textures, the counts, the boxes per source, and the thread's own seconds."""
    t0, c0 = time.perf_counter(), time.thread_time()
    stats = {"images": 0, "faces": 0, "plates": 0, "blurred_texels": 0, "texels": 0}
    detections: dict[str, list] = {}
    public = []
    for src, mesh, search in zip(sources, meshes, searched, strict=True):
        if not search:
            public.append(mesh.texture)
            continue
        # charts searched in the turn that puts the world's up at the top (see charts.py);
        # a mesh still in its own local frame (placed by control points later) has no known
        # up: the whole texture in every turn
        regions = charts.regions(mesh) if mesh.frame == "site" else None
        result = images.anonymise(mesh.texture, faces=cfg["faces"], plates=cfg["plates"],
                                  regions=regions)
        counts = result.counts()
        stats["images"] += 1
        stats["faces"] += counts["faces"]
        stats["plates"] += counts["plates"]
        stats["blurred_texels"] += result.blurred_pixels()
        stats["texels"] += int(mesh.texture.shape[0] * mesh.texture.shape[1])
        detections[src.name] = [b.to_list() for b in result.boxes]
        public.append(result.image)
    return {"textures": public, "stats": stats, "detections": detections,
            "seconds": time.perf_counter() - t0, "thread_cpu": time.thread_time() - c0}


class Textures:
    """The texture search of one epoch, from ``apply`` to ``join``: on a worker thread, so
    that cleaning and registration go on meanwhile (with the step off: nothing to search).

    ``join`` waits for it, records what it did (``epoch.json``: counts and seconds — the
    worker's own wall and CPU time and how long ingest waited for it; the boxes in the
    restricted ``detections.json``; the step's event) and returns the public texture of each
    mesh.  An error in the search is raised by ``join``.  The worker writes nothing; ``join``
    writes into the epoch's work folder only, so a stopped ingest leaves nothing behind but
    that folder."""

    def __init__(self, textures: list, job: tuple | None = None, record: dict | None = None,
                 prov=None, out_dir: Path | None = None, epoch_id: str = ""):
        self._textures = textures            # the public textures once known
        self._record, self._prov, self._out_dir, self._epoch = record, prov, out_dir, epoch_id
        self._pool = self._future = None
        self.points_detail = ""
        if job is not None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="privacy")
            self._future = self._pool.submit(_search_textures, *job)

    def join(self) -> list[np.ndarray | None]:
        """The public texture of each mesh (None where it has none), once the search is done."""
        if self._future is None:
            return self._textures
        t0 = time.perf_counter()
        try:
            done = self._future.result()
        finally:
            self.close()
        self._future = None
        wait = time.perf_counter() - t0
        tex = done["stats"]
        self._record["textures"] = tex
        self._record["seconds"] = {
            "textures": round(done["seconds"], 3),
            "textures_thread_cpu": round(done["thread_cpu"], 3),
            "textures_wait": round(wait, 3), **self._record["seconds"]}
        (self._out_dir / "detections.json").write_text(json.dumps(
            {"format": "stadtzeit-privacy-detections/1", "epoch": self._epoch,
             "boxes": done["detections"], "box_fields": ["x", "y", "w", "h", "kind"]},
            indent=1) + "\n")
        self._prov.event("privacy", "success",
                         f"{tex['faces']} face(s) and {tex['plates']} plate(s) blurred in "
                         f"{tex['images']} texture(s); {self.points_detail}")
        self._textures = done["textures"]
        return self._textures

    def close(self) -> None:
        """Wait for the worker to stop (after a failure elsewhere: its result is dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def restricted_files(work: Path) -> dict[str, Path]:
    """Logical path (under the epoch) -> file of what the step keeps for archivists only."""
    folder = work / RESTRICTED_DIR
    if not folder.is_dir():
        return {}
    return {f"privacy/{p.name}": p for p in sorted(folder.iterdir())}


__all__ = ["Textures", "apply", "restricted_files", "settings"]
