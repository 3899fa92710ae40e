"""Which change a pair of epochs shows, and its values when the archive holds none (no Qt).

The method follows what the epochs captured (`default_method`): when both scans saw walls
(terrestrial or mobile LiDAR, photogrammetry) M3C2 on the cleaned points gives walls, roofs and
ground a value wherever both point clouds sampled the surface (its cylinders need points of
both epochs), with a level of detection per point; when either was flown (airborne LiDAR sees
roofs and ground, hardly walls) the DEM difference (DoD) is what both saw. On the demo's
2021 → 2024 pair M3C2 leaves 0 % of the Gasometer's wall vertices without a value (DoD: 100 %)
and measures the unchanged walls at 4 cm median; C2M on the meshes gives them ~1.9 m, the
meshing's difference rather than change. Volumes of changed regions are 2.5D
quantities: a stored DoD product's regions are shown beside 3D values (where one epoch was
scanned from the ground, its regions say `partial` and their volumes are lower bounds).

The viewer never writes products: what it computes here is shown and then forgotten. The work
is the processing layer's (`processing.compare.compare(..., store=False)`, the code behind
`stadtzeit compare`); for epochs without archive products (meshes only) the viewer falls back
to cloud-to-mesh distance of B's vertices against A's mesh, with no value where B reaches
beyond what A captured (its closest point on A is on A's open border).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from assets_manifest.errors import StadtzeitError
from viewer.model.scene import Cancelled, MeshData
from viewer.model.state import ChangeData, EpochInfo, Region

MAX_DISTANCE = 25.0   # metres; farther vertices get no value instead of a slow search
MIN_REGION_CHANGE = 0.10  # metres; with no level of detection, regions need at least this
BORDER_TOLERANCE = 0.5    # metres; beyond A's open border by more than this: not covered by A


#: Captures that sample walls as well as roofs and ground.
SEES_WALLS = frozenset({"terrestrial-lidar", "mobile-lidar", "photogrammetry"})


#: one computation at a time: two `compare` runs in the loader's worker threads at once crashed
#: the process inside pyproj/laspy (seen in the kiosk); they share the CPU anyway
_ONE_AT_A_TIME = threading.Lock()


def default_method(a: EpochInfo | None, b: EpochInfo | None) -> str:
    """"m3c2" when both epochs captured walls, else "dod" (see the module's docstring)."""
    if a is not None and b is not None and a.capture in SEES_WALLS and b.capture in SEES_WALLS:
        return "m3c2"
    return "dod"


def _processing_hook() -> Callable[..., Any] | None:
    """`processing.compare.mesh_change(vertices_a, faces_a, vertices_b, faces_b, progress=...)`
    returning per-vertex values of b (and optionally level_of_detection, regions)."""
    try:
        from processing import compare
    except ImportError:
        return None
    return getattr(compare, "mesh_change", None)


def border_vertices(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """Vertices on an open border of the mesh (on an edge that only one face uses)."""
    f = faces.astype(np.int64)
    e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    keys, counts = np.unique(e[:, 0] * n_vertices + e[:, 1], return_counts=True)
    single = keys[counts == 1]
    mask = np.zeros(n_vertices, bool)
    mask[single // n_vertices] = True
    mask[single % n_vertices] = True
    return mask


def outside_coverage(points: np.ndarray, closest: np.ndarray, face: np.ndarray,
                     a: MeshData) -> np.ndarray:
    """Points whose closest point on A lies on A's open border, well away from it: A did not
    capture that part (a scan of one side, a smaller area), so there is no change to show."""
    tri = a.faces[np.clip(face, 0, None)].astype(np.intp)
    v = a.vertices.astype(np.float64)
    border = border_vertices(a.faces, len(v))
    corners = v[tri]                                        # (N, 3, 3)
    near = np.linalg.norm(corners - closest[:, None, :], axis=2)
    span = np.linalg.norm(corners - np.roll(corners, 1, axis=1), axis=2).max(axis=1)
    on_corner = near <= 1e-3 * np.maximum(span, 1e-9)[:, None] + 1e-6
    # on a border vertex, or on the edge between two border vertices (bary ~ 0 opposite)
    nb = border[tri]
    e0, e1, e2 = (corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0],
                  closest - corners[:, 0])
    d00, d01, d11 = (np.einsum("ij,ij->i", e0, e0), np.einsum("ij,ij->i", e0, e1),
                     np.einsum("ij,ij->i", e1, e1))
    d20, d21 = np.einsum("ij,ij->i", e2, e0), np.einsum("ij,ij->i", e2, e1)
    den = np.where(np.abs(d00 * d11 - d01 * d01) > 1e-18, d00 * d11 - d01 * d01, 1.0)
    b1 = (d11 * d20 - d01 * d21) / den
    b2 = (d00 * d21 - d01 * d20) / den
    bary = np.stack([1 - b1 - b2, b1, b2], axis=1)
    zero = np.abs(bary) < 1e-4
    edge_on_border = (zero & np.roll(nb, 1, axis=1) & np.roll(nb, 2, axis=1)).any(axis=1)
    vertex_on_border = (on_corner & nb).any(axis=1)
    far = np.linalg.norm(points - closest, axis=1) > BORDER_TOLERANCE
    return (edge_on_border | vertex_on_border) & far & (face >= 0)


def mean_edge(vertices: np.ndarray, faces: np.ndarray, sample: int = 20000) -> float:
    f = faces[:: max(1, len(faces) // sample)]
    v = vertices.astype(np.float64, copy=False)
    return float(np.linalg.norm(v[f[:, 1]] - v[f[:, 0]], axis=1).mean())


def compute_change(a_id: str, b_id: str, lod: int, a: MeshData, b: MeshData,
                   progress: Callable[[float, str], None],
                   cancelled: Callable[[], bool]) -> ChangeData:
    hook = _processing_hook()
    if hook is not None:
        result = hook(a.vertices, a.faces, b.vertices, b.faces, progress=progress)
        got = result if isinstance(result, dict) else {"distance": result}
        return ChangeData(a_id, b_id, lod, np.asarray(got["distance"], np.float32),
                          level_of_detection=got.get("level_of_detection"),
                          regions=[Region.from_json(r, i)
                                   for i, r in enumerate(got.get("regions") or [])],
                          method="processing.compare", computed=True)

    from processing.change.c2m import c2m
    from processing.change.regions import point_regions

    progress(0.05, "c2m")
    res = c2m(b.vertices.astype(np.float64), a.vertices.astype(np.float64), a.faces,
              max_distance=MAX_DISTANCE)
    values = res.distance.astype(np.float32)
    values[outside_coverage(b.vertices.astype(np.float64), res.closest, res.face, a)] = np.nan
    if cancelled():
        raise Cancelled
    progress(0.7, "regions")
    finite = np.abs(values[np.isfinite(values)])
    threshold = max(MIN_REGION_CHANGE, 3 * float(np.median(finite)) if finite.size else 0.0)
    link = 2.0 * mean_edge(b.vertices, b.faces)
    found = point_regions(b.vertices.astype(np.float64), values,
                          np.abs(values) >= threshold, link_distance=link, min_count=10)
    progress(1.0, "done")
    regions = [Region.from_json(r.to_dict(), i) for i, r in enumerate(found.regions[:50])]
    return ChangeData(a_id, b_id, lod, values, regions=regions,
                      method=f"C2M (viewer; regions where |d| ≥ {threshold:.2f} m)",
                      computed=True)


def compute_pair_change(archive: Any, site: str, a_id: str, b_id: str, lod: int,
                        load_a: Callable[[], MeshData], load_b: Callable[[], MeshData],
                        progress: Callable[[float, str], None],
                        cancelled: Callable[[], bool], method: str = "dod",
                        regions_from: dict[str, Any] | None = None) -> ChangeData:
    """Change of a pair that has no stored product of `method`, computed and shown, never
    stored: `processing.compare.compare` (what `stadtzeit compare` runs) when both epochs have
    archive products, else mesh-to-mesh C2M on the loaded meshes. `regions_from`: a stored
    summary (a DoD's) whose regions and volumes replace the computed ones.
    """
    change = None
    if archive is not None:
        from processing.compare import compare
        from viewer.model.scene import change_from_products

        try:
            with _ONE_AT_A_TIME:
                result = compare(archive, site, a_id, b_id, method=method, store=False,
                                 progress=progress)
        except StadtzeitError:
            result = None
        if result is not None and lod in result.lod_values:
            change = change_from_products(a_id, b_id, lod, result.lod_values[lod],
                                          result.summary)
    if change is None:
        change = compute_change(a_id, b_id, lod, load_a(), load_b(), progress, cancelled)
    change.computed = True
    return with_regions_of(change, regions_from)


def with_regions_of(change: ChangeData, summary: dict[str, Any] | None) -> ChangeData:
    """`change` with the regions of another product's summary (a DoD's) when one is given."""
    if summary is not None:
        change.regions = [Region.from_json(r, i)
                          for i, r in enumerate(summary.get("regions") or [])
                          if isinstance(r, dict)]
        change.regions_method = str(summary.get("method") or "")
    return change
