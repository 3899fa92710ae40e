"""``publish``: a static folder for an urban data platform — 3D Tiles, STAC, a CesiumJS page.

    from processing.publish import publish
    report = publish(archive, "gasometer", "/srv/www/gasometer")

What the folder holds (see docs/PUBLISH.md)::

    index.html                        CesiumJS page: time slider, swipe, change colouring, DE/EN
    cesium/                           CesiumJS build from npm (Apache-2.0), offline
    tiles/<epoch>/tileset.json        3D Tiles 1.1, the LOD chain, georeferenced to ECEF
    tiles/<epoch>/lod<k>.glb          an LOD as one tile, or, when it is large,
    tiles/<epoch>/lod<k>/t<quadkey>.glb  its spatial tiles (quadtree in plan)
    tiles/changes/<a>__<b>/<key>/...  the same for each stored comparison, coloured by change
    data/<epoch>/points.laz           the cleaned points, with a licence VLR
    data/<epoch>/lod0.glb             the full mesh in one file, where LOD 0 is split
    data/<epoch>/provenance.json      the epoch's provenance, with licence and attribution
    stac/catalog.json                 STAC: a collection per site, an item per epoch
    ATTRIBUTION.txt                   licence and attribution of the data

Only the public site object is read; a privacy-restricted object (``<site>--restricted``) is
refused. The folder is built beside ``out`` and renamed into place when complete and valid.
Publishing never writes to the archive.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from archive.restricted import require_public
from processing.compare_params import made_by_current_algorithm
from processing.errors import ProcessingError
from processing.gltf import read_glb

from .page import copy_cesium, find_cesium, write_page
from .quadtree import MAX_TILE_FACES, LodTiles, tile_chain
from .stac import (
    GLB_MEDIA_TYPE,
    LAZ_MEDIA_TYPE,
    build_catalog,
    epoch_datetime,
    validate_catalog,
)
from .tiles import Georef, geometric_errors, georeference, tile_glb, tileset, write_tiles

log = logging.getLogger(__name__)


@dataclass
class PublishReport:
    out: Path
    site: str
    source: str                                    # the archive version published (site@vN)
    epochs: list[str]
    pairs: list[str]
    georef: Georef
    geometric_errors: dict[str, list[float]]       # epoch -> error per LOD (0 = full)
    stac_objects: int
    files: int = 0
    bytes: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def publish(archive, site: str, out: str | os.PathLike[str], *,
            cesium: str | os.PathLike[str] | None = None,
            max_tile_faces: int = MAX_TILE_FACES) -> PublishReport:
    """Publish the head of ``site`` into the new folder ``out``. An LOD of more than
    ``max_tile_faces`` triangles is split into spatial tiles (see ``quadtree``)."""
    if max_tile_faces < 1:
        raise ProcessingError(f"max_tile_faces must be at least 1, got {max_tile_faces}")
    site = require_public(site, "published")
    head = archive.read(site)
    out = Path(out).expanduser().absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ProcessingError(f"{out} exists and is not an empty folder; publish into a new "
                              "folder (or remove the old one first)")
    cesium_build = find_cesium(cesium)
    manifest = head.read_json("site.json")
    tmp = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        tmp.mkdir(parents=True)
        report = _build(head, manifest, tmp, timings, max_tile_faces)
        t = time.perf_counter()
        copy_cesium(cesium_build, tmp / "cesium")
        timings["cesium"] = time.perf_counter() - t
        if out.exists():
            out.rmdir()
        os.rename(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    report.out = out
    for dirpath, _dirs, names in os.walk(out):
        report.files += len(names)
        report.bytes += sum(os.path.getsize(os.path.join(dirpath, n)) for n in names)
    timings["total"] = time.perf_counter() - t0
    report.timings = timings
    return report


def _lap(timings: dict[str, float], name: str, start: float) -> float:
    now = time.perf_counter()
    timings[name] = timings.get(name, 0.0) + now - start
    return now


def _build(head, manifest: dict[str, Any], out: Path, timings: dict[str, float],
           max_tile_faces: int) -> PublishReport:
    site, ref = head.site, head.ref
    licence = manifest.get("licence") or "unknown"
    attribution = manifest.get("attribution") or "unknown"
    notice = f"{attribution} — licence {licence} — from {ref}"
    crs, origin = manifest["crs"], tuple(float(v) for v in manifest["origin"])
    t = time.perf_counter()
    georef = georeference(crs, origin)
    t = _lap(timings, "georeference", t)
    base_extras = {"licence": licence, "attribution": attribution, "source": ref,
                   "site": site, "crs": crs, "origin": list(origin),
                   "georeferencing": georef.note}

    epochs: list[dict[str, Any]] = []
    meshes: dict[str, list[Any]] = {}
    errors: dict[str, list[float]] = {}
    tilings: dict[str, list[LodTiles]] = {}
    for epoch in [e["id"] for e in manifest.get("epochs", [])]:
        lods = sorted((lp for lp in head.listdir(f"epochs/{epoch}/mesh")
                       if lp.rsplit("/", 1)[-1].startswith("lod") and lp.endswith(".glb")),
                      key=lambda lp: int(lp.rsplit("/lod", 1)[1][:-4]))
        if not lods:
            log.info("%s: epoch %s has no mesh; not published", site, epoch)
            continue
        chain = [read_glb(head.path(lp)) for lp in lods]
        t = _lap(timings, "read", t)
        errs = geometric_errors(chain)
        t = _lap(timings, "geometric_error", t)
        folder = out / "tiles" / epoch
        folder.mkdir(parents=True)
        _square, tiling = tile_chain(chain, max_tile_faces)
        t = _lap(timings, "split", t)
        bounds = write_tiles(chain, [head.path(lp) for lp in lods], tiling, folder,
                             copyright=notice, extras={**base_extras, "epoch": epoch})
        doc = tileset(tiling, bounds, errs, georef, {**base_extras, "epoch": epoch})
        _write_json(folder / "tileset.json", doc)
        t = _lap(timings, "tiles", t)
        meshes[epoch], errors[epoch], tilings[epoch] = chain, errs, tiling
        if tiling[0].is_split:    # the full mesh as one download beside its tiles
            (out / "data" / epoch).mkdir(parents=True)
            tile_glb(head.path(lods[0]), out / "data" / epoch / "lod0.glb", copyright=notice,
                     extras={**base_extras, "epoch": epoch, "lod": 0})
        epochs.append(_epoch_entry(head, epoch, chain[0], georef, origin, out, base_extras,
                                   tiling[0].is_split))
        t = _lap(timings, "data", t)
    if not epochs:
        raise ProcessingError(f"{ref} has no epoch with a mesh (epochs/<epoch>/mesh/lod0.glb); "
                              "ingest one before publishing")

    pairs = _change_tilesets(head, out, meshes, errors, tilings, georef, notice, base_extras)
    for p in pairs:
        item = next((e for e in epochs if e["id"] == p["b"]), None)
        if item is not None:
            item["assets"][f"change-{p['a']}-{p['key']}"] = (
                p["tileset"], "application/json", ["data", "3d-tiles", "change"],
                f"3D Tiles: change {p['a']} → {p['b']} ({p['method']})")
    t = _lap(timings, "changes", t)

    from pyproj import CRS
    catalog = build_catalog(out, site=site, manifest=manifest, source_ref=ref, epochs=epochs,
                            crs_wkt=CRS.from_user_input(crs).to_wkt())
    checked = validate_catalog(catalog)
    t = _lap(timings, "stac", t)

    page_data = {
        "site": site, "name": manifest.get("name") or {"de": site, "en": site},
        "licence": licence, "attribution": attribution, "source": ref,
        "transform": georef.transform,
        "view": _view(meshes[epochs[-1]["id"]][0]),
        "epochs": [{"id": e["id"], "tileset": f"tiles/{e['id']}/tileset.json"} for e in epochs],
        "pairs": [{k: p[k] for k in ("id", "a", "b", "method", "tileset", "range")}
                  for p in pairs],
        "annotations": [{"id": a["id"], "position": a["position"], "title": a["title"]}
                        for a in manifest.get("annotations", [])],
    }
    write_page(out, page_data)
    (out / "ATTRIBUTION.txt").write_text(
        f"{manifest.get('name', {}).get('en') or site}\n\nData: {attribution}\n"
        f"Licence of the data: {licence}\nPublished by stadtzeit from {ref}.\n\n"
        "Every file here carries this licence and attribution: glTF in asset.copyright, "
        "tilesets in asset.extras,\nLAZ in a VLR (user id 'stadtzeit'), JSON and STAC in "
        "their fields, the page in its footer.\nThe folder cesium/ is CesiumJS "
        "(Apache-2.0, see cesium/LICENSE.md).\n", encoding="utf-8")
    _lap(timings, "page", t)
    return PublishReport(out, site, ref, [e["id"] for e in epochs], [p["id"] for p in pairs],
                         georef, errors, checked)


def _view(full) -> dict[str, Any]:
    """What the page looks at first: the shown epoch's box (centre and radius, site frame), so
    the camera is on the site before any tileset has loaded."""
    v = np.asarray(full.vertices, dtype=np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    return {"center": [float(c) for c in (lo + hi) / 2],
            "radius": float(np.linalg.norm(hi - lo) / 2)}


def _write_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                    encoding="utf-8")


def _epoch_entry(head, epoch: str, full, georef: Georef, origin, out: Path,
                 extras: dict[str, Any], full_in_data: bool) -> dict[str, Any]:
    """STAC item data for an epoch; copies its points and provenance into data/<epoch>/."""
    v = np.asarray(full.vertices, dtype=np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    corners = np.array([[lo[0], lo[1], lo[2]], [hi[0], lo[1], lo[2]],
                        [hi[0], hi[1], lo[2]], [lo[0], hi[1], lo[2]]])
    lonlat = georef.to_wgs84(corners)[:, :2]
    centre = georef.to_wgs84(((lo + hi) / 2)[None])[0]
    provenance = (head.read_json(f"epochs/{epoch}/epoch.json")
                  if head.exists(f"epochs/{epoch}/epoch.json") else None)
    data = out / "data" / epoch
    data.mkdir(parents=True, exist_ok=True)
    assets: dict[str, tuple[str, str, list[str], str]] = {
        "tileset": (f"tiles/{epoch}/tileset.json", "application/json", ["data", "3d-tiles"],
                    "3D Tiles 1.1 tileset"),
        "glb": (f"{'data' if full_in_data else 'tiles'}/{epoch}/lod0.glb", GLB_MEDIA_TYPE,
                ["data", "mesh"],
                "full-resolution mesh (glTF, Y-up, site frame)"),
    }
    if head.exists(f"epochs/{epoch}/points.laz"):
        _laz_with_licence(head.path(f"epochs/{epoch}/points.laz"), data / "points.laz",
                          {**extras, "epoch": epoch})
        assets["laz"] = (f"data/{epoch}/points.laz", LAZ_MEDIA_TYPE, ["data", "points"],
                         "cleaned, registered points (LAZ, site CRS)")
    if provenance is not None:
        _write_json(data / "provenance.json", {**extras, "epoch": epoch,
                                               "provenance": provenance})
        assets["provenance"] = (f"data/{epoch}/provenance.json", "application/json",
                                ["metadata"], "provenance (inputs, parameters, events)")
    o = np.asarray(origin)
    return {"id": epoch, "datetime": epoch_datetime(epoch, provenance),
            "footprint": [tuple(map(float, p)) for p in lonlat],
            "crs_bbox": [o[0] + lo[0], o[1] + lo[1], o[0] + hi[0], o[1] + hi[1]],
            "centroid": (float(centre[1]), float(centre[0])), "assets": assets}


def _laz_with_licence(src: Path, dst: Path, notice: dict[str, Any]) -> None:
    """The points as stored, plus a VLR that carries the licence and attribution."""
    import laspy
    las = laspy.read(src)
    las.vlrs.append(laspy.VLR(user_id="stadtzeit", record_id=15,
                              description="licence and attribution",
                              record_data=json.dumps(notice, ensure_ascii=False).encode()))
    las.write(dst)


def _change_tilesets(head, out: Path, meshes: dict[str, list[Any]],
                     errors: dict[str, list[float]], tilings: dict[str, list[LodTiles]],
                     georef: Georef, notice: str,
                     extras: dict[str, Any]) -> list[dict[str, Any]]:
    """A heatmap tileset for each stored comparison whose values cover every LOD of epoch b,
    made by today's change algorithm (a superseded product is left out)."""
    pairs = []
    summaries = sorted(lp for lp in head.files if lp.startswith("changes/")
                       and lp.endswith("/summary.json") and lp.count("/") == 3)
    for lp in summaries:
        _, pair, key, _ = lp.split("/")
        a, _, b = pair.partition("__")
        if b not in meshes:
            continue
        prefix = f"changes/{pair}/{key}"
        summary = head.read_json(lp)
        if not made_by_current_algorithm(summary):
            log.info("%s: %s was made by an older change algorithm; not published (run "
                     "`stadtzeit compare` again)", head.site, prefix)
            continue
        values = []
        for k in range(len(meshes[b])):
            if not head.exists(f"{prefix}/lod{k}.npz"):
                break
            with np.load(head.path(f"{prefix}/lod{k}.npz"), allow_pickle=False) as npz:
                values.append(np.asarray(npz["distance"], dtype=np.float64))
        if len(values) != len(meshes[b]):
            log.info("%s: %s lacks values for some LODs; not published", head.site, prefix)
            continue
        method = summary.get("method") or key.split("-")[0]
        finite = np.abs(values[0][np.isfinite(values[0])])
        vrange = float(max(np.percentile(finite, 95) if finite.size else 0.0, 0.05))
        folder = out / "tiles" / "changes" / pair / key
        folder.mkdir(parents=True)
        more = {**extras, "pair": [a, b], "method": method, "change_range": vrange,
                "change_attribute": "_CHANGE (float32, metres; positive: added or raised in b)"}
        sources = [head.path(f"epochs/{b}/mesh/lod{k}.glb") for k in range(len(values))]
        bounds = write_tiles(meshes[b], sources, tilings[b], folder, copyright=notice,
                             extras=more, change=values)
        doc = tileset(tilings[b], bounds, errors[b], georef, more)
        _write_json(folder / "tileset.json", doc)
        pairs.append({"id": f"{pair}/{key}", "a": a, "b": b, "key": key, "method": method,
                      "tileset": f"tiles/changes/{pair}/{key}/tileset.json", "range": vrange})
    return pairs
