"""Compare two epochs of a site in the archive and store the change products.

`compare(archive, site, a, b, method=..., params=...)` reads both epochs' products (cleaned
points, mesh LODs, provenance), runs one method of `processing.change`, and stores under
`changes/<a>__<b>/<method>-<key>/`:

- `summary.json` — method, parameters, registration error used, statistics, histogram, level of
  detection, regions (sign, area, volume, centroid, box), volumes;
- `lod<k>.npz` — per-vertex values on epoch b's mesh LOD k (`distance`, and `significant`,
  `lod` where the method has a level of detection): what the viewer's heatmap draws;
- `cores.laz` (M3C2) — core points with their distance, LoD, counts and deviations as extra
  dimensions.

`<key>` is a digest of the method, its parameters and both epochs' input keys, so asking again
for a computed pair returns the stored result and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pykdtree.kdtree import KDTree

from archive import Archive
from processing import change, gltf, lazio
from processing.change import method_regions
from processing.compare_params import ALGORITHM_VERSION, METHODS, CompareParams
from processing.errors import ProcessingError
from processing.provenance import now_iso
from processing.types import PointCloud

log = logging.getLogger(__name__)

FORMAT = "stadtzeit-change/1"
# Captures made from the ground: they see walls, not the tops over them (see `dod`).
FROM_GROUND = frozenset({"terrestrial-lidar", "mobile-lidar"})

Progress = Callable[[float, str], None]


@dataclass
class CompareResult:
    site: str
    a: str
    b: str
    method: str
    prefix: str                      # changes/<a>__<b>/<method>-<key>
    summary: dict[str, Any]
    version: int | None              # archive version written; None when reused
    reused: bool = False
    lod_values: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)

    def one_line(self) -> str:
        regions = self.summary.get("regions", [])
        state = "stored" if self.reused else f"computed, v{self.version}"
        return (f"{self.a} → {self.b} ({self.method}, {state}): {len(regions)} region(s), "
                f"{_share(self.summary)} of values significant")


def _share(summary: dict) -> str:
    share = summary.get("statistics", {}).get("share_significant")
    return "–" if share is None else f"{100 * share:.1f} %"


def compare(archive: Archive, site: str, a: str, b: str, *, method: str = "m3c2",
            params: CompareParams | None = None, user: str | None = None,
            progress: Progress | None = None, store: bool = True) -> CompareResult:
    """Change from epoch ``a`` to epoch ``b`` (positive: added or raised in b)."""
    if method not in METHODS:
        raise ProcessingError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    params = params or CompareParams()
    notify = progress or (lambda _f, _s: None)
    head = archive.read(site)
    epochs = _epochs(head)
    for e in (a, b):
        if e not in epochs:
            raise ProcessingError(f"site {site} has no epoch {e}; its epochs are "
                                  f"{', '.join(epochs) or 'none'}")
        if not head.exists(f"epochs/{e}/points.laz"):
            raise ProcessingError(f"epoch {e} of {site} has no products yet; ingest it first "
                                  f"(stadtzeit ingest MANIFEST --epoch {e})")
    if a == b and method != "c2c":
        log.info("comparing epoch %s with itself", a)
    prov = {e: head.read_json(f"epochs/{e}/epoch.json") for e in dict.fromkeys((a, b))}
    reg_error, registration = _registration(prov)
    if params.registration_error is not None:
        reg_error = params.registration_error
        registration |= {"error": reg_error, "source": "given by the caller"}
    chosen = params.for_method(method) | {"registration_error": reg_error}
    key = hashlib.sha256(json.dumps(
        {"method": method, "params": chosen, "a": prov[a].get("input_key"),
         "b": prov[b].get("input_key"), "format": FORMAT,
         "algorithm": ALGORITHM_VERSION}, sort_keys=True).encode()
    ).hexdigest()[:16]
    prefix = f"changes/{a}__{b}/{method}-{key}"
    if head.exists(f"{prefix}/summary.json"):
        stored = {}
        for logical in head.listdir(prefix):
            name = logical.rsplit("/", 1)[-1]
            if name.startswith("lod") and name.endswith(".npz"):
                with np.load(head.path(f"{prefix}/{name}"), allow_pickle=False) as npz:
                    stored[int(name[3:-4])] = {k: npz[k] for k in npz.files}
        return CompareResult(site, a, b, method, prefix, head.read_json(f"{prefix}/summary.json"),
                             version=None, reused=True, lod_values=stored)

    origin = json.loads(head.path("site.json").read_bytes())["origin"]
    notify(0.05, "reading points")
    pa = lazio.read_laz_site(head.path(f"epochs/{a}/points.laz"), origin).xyz
    pb = lazio.read_laz_site(head.path(f"epochs/{b}/points.laz"), origin).xyz
    lods = sorted(p for p in head.files if p.startswith(f"epochs/{b}/mesh/lod")
                  and p.endswith(".glb"))
    meshes_b = [gltf.read_glb(head.path(p)) for p in lods]

    notify(0.15, method)
    run = {"m3c2": _m3c2, "c2c": _c2c, "c2m": _c2m, "dod": _dod}[method]
    summary, lod_values, cores = run(pa, pb, meshes_b, head, (a, b), params, reg_error,
                                     notify)
    summary.update({
        "format": FORMAT, "site": site, "a": a, "b": b, "method": method, "key": key,
        "algorithm": ALGORITHM_VERSION,
        "parameters": chosen, "registration_error": reg_error,
        "registration": registration, "created": now_iso(),
        "inputs": {a: prov[a].get("input_key"), b: prov[b].get("input_key")},
        "lods": {str(k): int(len(v["distance"])) for k, v in lod_values.items()},
        "sign_convention": "positive: material added or surface raised from a to b",
    })
    result = CompareResult(site, a, b, method, prefix, summary, version=None,
                           lod_values=lod_values)
    if store:
        notify(0.95, "storing")
        result.version = _store(archive, site, prefix, summary, lod_values, cores, origin,
                                head, user, f"compare {a} → {b} ({method})")
    notify(1.0, "done")
    return result


def compare_all_consecutive(archive: Archive, site: str, method: str = "m3c2",
                            params: CompareParams | None = None,
                            user: str | None = None) -> list[CompareResult]:
    """Change products for each pair of consecutive epochs (what the viewer shows first)."""
    epochs = _epochs(archive.read(site))
    return [compare(archive, site, a, b, method=method, params=params, user=user)
            for a, b in zip(epochs, epochs[1:], strict=False)]


# --- methods ---------------------------------------------------------------------------------


def _m3c2(pa, pb, meshes_b, head, epochs, params: CompareParams, reg_error, notify):
    p = change.M3C2Params(normal_radius=params.normal_radius,
                          cylinder_radius=params.cylinder_radius, max_depth=params.max_depth,
                          registration_error=reg_error)
    res = change.m3c2(pa, pb, p, cores=params.core_spacing)
    notify(0.7, "regions")
    regions = method_regions.m3c2_regions(res, core_spacing=params.core_spacing,
                                          min_area=params.min_area,
                                          min_volume=params.min_volume)
    summary = res.to_summary()
    summary["regions"] = [r.to_dict() for r in regions.regions]
    summary["region_volume_method"] = method_regions.M3C2_VOLUME_METHOD
    summary["level_of_detection"] = _median(res.lod)
    summary["volumes"] = method_regions.totals(regions, "m3c2")
    # per vertex: the value of the nearest core point in plan view (2.5D: a core on the old
    # ground measures a new roof above it; one on a removed roof, the ground left behind)
    reach = max(1.5 * params.core_spacing, params.cylinder_radius)
    lod_values = {k: _nearest_core_values(res, m.vertices, reach) for k, m in enumerate(meshes_b)}
    cores = PointCloud(xyz=res.core_points, frame="site", extra={
        "m3c2_distance": res.distance.astype(np.float32),
        "m3c2_lod95": res.lod.astype(np.float32),
        "m3c2_significant": res.significant.astype(np.uint8),
        "m3c2_n1": res.n1.astype(np.int32), "m3c2_n2": res.n2.astype(np.int32),
        "m3c2_std1": res.std1.astype(np.float32), "m3c2_std2": res.std2.astype(np.float32)})
    return summary, lod_values, cores


def _nearest_core_values(res, vertices: np.ndarray, reach: float) -> dict[str, np.ndarray]:
    ok = np.isfinite(res.distance)
    n = len(vertices)
    out = {"distance": np.full(n, np.nan, np.float32), "lod": np.full(n, np.nan, np.float32),
           "significant": np.zeros(n, bool)}
    if not ok.any():
        return out
    xy = np.ascontiguousarray(res.core_points[ok, :2])
    d, i = KDTree(xy).query(np.ascontiguousarray(np.asarray(vertices, np.float64)[:, :2]), k=1,
                             distance_upper_bound=reach)
    hit = np.isfinite(d) & (i < len(xy))
    idx = np.flatnonzero(ok)[i[hit]]
    out["distance"][hit] = res.distance[idx]
    out["lod"][hit] = res.lod[idx]
    out["significant"][hit] = res.significant[idx]
    return out


def _c2c(pa, pb, meshes_b, head, epochs, params: CompareParams, reg_error, notify):
    link = max(4 * _median_spacing(pb), 0.5)
    res, values, regions, counts = method_regions.c2c_regions(
        pa, pb, threshold=params.threshold, max_distance=params.max_distance,
        link_distance=link, min_area=params.min_area)

    def per_vertex(points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, np.float64)
        return method_regions.signed_c2c(change.c2c(pts, pa, max_distance=params.max_distance),
                                         pa, pts)

    summary = _unsigned_summary(res, values, regions, meshes_b, per_vertex, params)
    summary["region_points"] = counts
    summary["region_method"] = (
        "added: compared points farther than the threshold from epoch a and above it; "
        "removed: points of epoch a farther than the threshold from the compared epoch and "
        "above it; points that moved sideways (< 30 degrees from horizontal) get no sign")
    return summary, _lod_values(meshes_b, per_vertex, params), None


def _c2m(pa, pb, meshes_b, head, epochs, params: CompareParams, reg_error, notify):
    ref = gltf.read_glb(head.path(f"epochs/{epochs[0]}/mesh/lod0.glb"))
    va, fa = ref.vertices.astype(np.float64), ref.faces

    def per_vertex(v):
        return change.c2m(np.asarray(v, np.float64), va, fa,
                          max_distance=params.max_distance).distance

    res, regions = method_regions.c2m_regions(
        pb, va, fa, threshold=params.threshold, max_distance=params.max_distance,
        link_distance=max(4 * _median_spacing(pb), 0.5), min_area=params.min_area)
    summary = _unsigned_summary(res, res.distance, regions, meshes_b, per_vertex, params)
    return summary, _lod_values(meshes_b, per_vertex, params), None


def _unsigned_summary(res, values, regions, meshes_b, per_vertex, params: CompareParams):
    """C2C/C2M have no statistical level of detection: regions use ``params.threshold``,
    and no volume (see method_regions.NO_VOLUME)."""
    significant = np.abs(np.nan_to_num(values)) >= params.threshold
    summary = res.to_summary()
    summary["statistics"] = change.statistics(values, significant)
    summary["histogram"] = change.histogram(values)
    summary["regions"] = [r.to_dict() for r in regions.regions]
    summary["region_volume_method"] = method_regions.NO_VOLUME
    summary["level_of_detection"] = params.threshold
    summary["volumes"] = None
    return summary


def _lod_values(meshes_b, per_vertex, params: CompareParams) -> dict[int, dict]:
    out = {}
    for k, m in enumerate(meshes_b):
        v = np.asarray(per_vertex(m.vertices), np.float32)
        out[k] = {"distance": v, "significant": np.abs(np.nan_to_num(v)) >= params.threshold}
    return out


def _dod(pa, pb, meshes_b, head, epochs, params: CompareParams, reg_error, notify):
    mesh_a, mesh_b = (_delivered_mesh(head, e) for e in epochs)
    capture = captures(head)
    ground = tuple(capture.get(e) in FROM_GROUND for e in epochs)
    res, regions = method_regions.dod_regions(
        pa, pb, cell_size=params.cell_size, registration_error=reg_error,
        min_area=params.min_area, min_volume=params.min_volume,
        reference_mesh=mesh_a, compared_mesh=mesh_b, from_ground=ground)
    notify(0.7, "regions")
    summary = res.to_summary()
    summary["volume_all_cells"] = summary["volume"]
    summary["regions"] = [r.to_dict() for r in regions.regions]
    summary["region_volume_method"] = method_regions.DOD_VOLUME_METHOD
    summary["level_of_detection"] = _median(res.lod)
    summary["volumes"] = method_regions.totals(regions, "dod")
    summary["volume"] = summary["volumes"]
    lod_values = {}
    for k, m in enumerate(meshes_b):
        col = np.floor((m.vertices[:, 0] - res.origin[0]) / res.cell_size).astype(np.int64)
        row = np.floor((m.vertices[:, 1] - res.origin[1]) / res.cell_size).astype(np.int64)
        inside = (row >= 0) & (row < res.dz.shape[0]) & (col >= 0) & (col < res.dz.shape[1])
        dist = np.full(len(m.vertices), np.nan, np.float32)
        sig = np.zeros(len(m.vertices), bool)
        lodv = np.full(len(m.vertices), np.nan, np.float32)
        # only vertices on the surface the DEM describes get its value: a wall below a roof
        # edge is not raised by the roof's height (it stays "no value")
        top = res.compared.z[row.clip(0, res.dz.shape[0] - 1), col.clip(0, res.dz.shape[1] - 1)]
        inside &= ~(m.vertices[:, 2] < top - max(1.0, 2 * res.cell_size))
        dist[inside] = res.dz[row[inside], col[inside]]
        # a vertex is significant where its cell belongs to a reported region
        sig[inside] = regions.labels[row[inside], col[inside]] > 0
        lodv[inside] = res.lod[row[inside], col[inside]]
        lod_values[k] = {"distance": dist, "significant": sig, "lod": lodv}
    return summary, lod_values, None


# --- helpers ---------------------------------------------------------------------------------


def captures(head) -> dict[str, str | None]:
    """How each epoch of a site version was captured (its site.json's `capture`)."""
    site = json.loads(head.path("site.json").read_bytes())
    return {e.get("id"): e.get("capture") for e in site.get("epochs", [])}


def _delivered_mesh(head, epoch: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(vertices, faces) of the full-resolution mesh of an epoch delivered as a mesh
    (photogrammetry), whose points were sampled from it; None for a scanned epoch."""
    stats = head.read_json(f"epochs/{epoch}/epoch.json").get("statistics", {})
    # every epoch's mesh is cleaned; only the ones stadtzeit reconstructed name a surface
    # method, and a reconstruction's top over what a scan never saw (a roof seen from the
    # street) is invented, not measured
    if "mesh_cleaning" not in stats or "surface_method" in stats:
        return None
    mesh = gltf.read_glb(head.path(f"epochs/{epoch}/mesh/lod0.glb"))
    return np.asarray(mesh.vertices, np.float64), np.asarray(mesh.faces)


def _epochs(head) -> list[str]:
    return sorted({p.split("/")[1] for p in head.files if p.startswith("epochs/")
                   and p.endswith("/epoch.json")})


def _registration(prov: dict[str, dict]) -> tuple[float, dict[str, Any]]:
    """The registration error for the level of detection and what it rests on.

    Each epoch's ICP inlier RMSE (point-to-plane, against the reference epoch; 0 for the
    reference itself), combined in quadrature.  That RMSE is the residual of the surfaces
    after alignment: it holds the points' noise as well as any misalignment, so it bounds
    the registration error from above.  The notes say when the registration did not
    converge, and when it moved an epoch by less than its own residual (the epochs were
    aligned already; such a move is noise, not a correction)."""
    epochs: dict[str, Any] = {}
    notes: list[str] = []
    for name, p in prov.items():
        reg = p.get("registration") or {}
        rmse = float(reg.get("inlier_rmse") or 0.0)
        entry: dict[str, Any] = {"reference": bool(reg.get("reference") is True),
                                 "inlier_rmse": rmse, "converged": reg.get("converged"),
                                 "fitness": reg.get("fitness")}
        shift = reg.get("translation")
        if shift is not None:
            entry["shift"] = float(np.linalg.norm(shift))
            entry["rotation_deg"] = float(reg.get("rotation_deg") or 0.0)
        epochs[name] = entry
        if not reg:
            notes.append(f"epoch {name} has no registration record: its registration error "
                         "is unknown and counted as 0")
        elif reg.get("converged") is False:
            notes.append(f"the registration of epoch {name} did not converge: its residual "
                         f"{rmse:.3f} m is used as the registration error")
        if shift is not None and rmse > 0 and entry["shift"] < rmse:
            notes.append(f"the registration moved epoch {name} by {entry['shift']:.3f} m and "
                         f"{entry['rotation_deg']:.3f} deg, less than its residual "
                         f"{rmse:.3f} m: the epochs were aligned already and that move is "
                         "within the noise")
    error = float(np.sqrt(sum(e["inlier_rmse"] ** 2 for e in epochs.values())))
    return error, {"epochs": epochs, "error": error,
                   "source": "ICP inlier RMSE of each epoch, in quadrature (an upper bound: "
                             "it holds the points' noise too)", "notes": notes}


def _median(values: np.ndarray) -> float | None:
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else None


def _median_spacing(xyz: np.ndarray, sample: int = 20000) -> float:
    step = max(1, len(xyz) // sample)
    d, _ = KDTree(np.ascontiguousarray(xyz)).query(np.ascontiguousarray(xyz[::step]), k=2)
    return float(np.median(d[:, 1]))


def _store(archive: Archive, site: str, prefix: str, summary: dict, lod_values: dict,
           cores: PointCloud | None, origin, head, user: str | None, message: str) -> int | None:
    crs = json.loads(head.path("site.json").read_bytes()).get("crs", "EPSG:25832+7837")
    with tempfile.TemporaryDirectory(prefix="stadtzeit-compare-") as tmp:
        work = Path(tmp)
        with archive.writer(site, message=message, user=user) as w:
            w.add_json(f"{prefix}/summary.json", summary)
            for k, arrays in lod_values.items():
                path = work / f"lod{k}.npz"
                np.savez_compressed(path, **arrays)
                w.add_file(f"{prefix}/lod{k}.npz", path)
            if cores is not None:
                path = work / "cores.laz"
                lazio.write_laz(cores, path, origin, crs)
                w.add_file(f"{prefix}/cores.laz", path)
    return w.version
