"""3D Tiles 1.1 from the archive's LOD chain: georeferencing, tile glTF, geometric errors.

The archive's GLBs are Z-up in the site frame (site CRS minus a float64 origin). A tileset
places them on the globe with two transforms:

- in each tile's glTF, a root node matrix turning Z-up into glTF's Y-up; 3D Tiles turns Y-up
  back into Z-up at run time, so the vertices arrive unchanged in the site frame;
- on the root tile, the affine map site frame -> ECEF (EPSG:4978), the Jacobian of PROJ's
  site CRS -> ECEF transformation at the origin (central differences over +-50 m: the map is
  smooth, so the error of the linearisation over a site of a few hundred metres is millimetres).

Geometric errors are measured, not guessed: for LOD k it is the symmetric Hausdorff distance
(at vertices) between LOD k and LOD 0, i.e. how far the coarse surface is from the full one.
"""

from __future__ import annotations

import json
import logging
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from processing.errors import ProcessingError
from processing.gltf import _read_chunks, read_glb, write_glb
from processing.types import Mesh

from .quadtree import ROOT, Cell, LodTiles, parent_of, quadkey, sub_mesh

log = logging.getLogger(__name__)

_GLB_MAGIC, _JSON, _BIN = 0x46546C67, 0x4E4F534A, 0x004E4942
#: glTF node matrix (column-major) taking the site frame's Z-up to glTF's Y-up: (x, y, z) ->
#: (x, z, -y). 3D Tiles applies the inverse (Y-up -> Z-up) to glTF content at run time.
Z_UP_TO_Y_UP = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
ECEF = "EPSG:4978"


@dataclass(frozen=True)
class Georef:
    """Site frame -> ECEF as a 4x4 matrix, and where the origin lies in WGS84."""

    matrix: np.ndarray            # 4x4, ECEF = matrix @ [x, y, z, 1]
    lon: float
    lat: float
    height: float                 # ellipsoidal, as far as PROJ could tell (see note)
    note: str                     # how heights were treated

    def to_ecef(self, xyz: np.ndarray) -> np.ndarray:
        xyz = np.asarray(xyz, dtype=np.float64)
        return xyz @ self.matrix[:3, :3].T + self.matrix[:3, 3]

    def to_wgs84(self, xyz: np.ndarray) -> np.ndarray:
        """lon, lat, ellipsoidal height (degrees, metres) of site-frame points."""
        from pyproj import Transformer
        t = Transformer.from_crs(ECEF, "EPSG:4979", always_xy=True)
        e = self.to_ecef(np.atleast_2d(xyz))
        return np.column_stack(t.transform(e[:, 0], e[:, 1], e[:, 2]))

    @property
    def transform(self) -> list[float]:
        """Column-major, as tileset.json wants it."""
        return [float(v) for v in self.matrix.T.ravel()]


def georeference(crs: str, origin: tuple[float, float, float]) -> Georef:
    """The site frame of ``crs`` shifted by ``origin``, mapped into ECEF through PROJ."""
    from pyproj import Transformer
    from pyproj.exceptions import ProjError
    from pyproj.transformer import TransformerGroup

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "best transformation not available"
            group = TransformerGroup(crs, ECEF, always_xy=True)
    except ProjError as exc:
        raise ProcessingError(f"cannot georeference the site CRS {crs!r} to ECEF: {exc}; "
                              "check site.json's crs") from exc
    if not group.transformers:
        raise ProcessingError(f"PROJ knows no way from {crs!r} to ECEF ({ECEF}) here; install "
                              "the PROJ grids it names or give the site a CRS PROJ can map")
    t = group.transformers[0]
    if group.best_available:
        note = "heights transformed by PROJ: " + t.description
    else:
        note = ("heights are the site CRS's heights placed on the ellipsoid (PROJ's best "
                "transformation needs a geoid grid that is not installed; used: "
                f"{t.description}); horizontal position is unaffected")
    o = np.asarray(origin, dtype=np.float64)
    step = 50.0

    def ecef(p: np.ndarray) -> np.ndarray:
        x, y, z = t.transform(p[0], p[1], p[2])
        return np.array([x, y, z], dtype=np.float64)

    m = np.eye(4)
    m[:3, 3] = ecef(o)
    for axis in range(3):
        d = np.zeros(3)
        d[axis] = step
        m[:3, axis] = (ecef(o + d) - ecef(o - d)) / (2 * step)
    if not np.all(np.isfinite(m)):
        raise ProcessingError(f"PROJ could not place the site origin {tuple(o)} of {crs!r} "
                              "on the globe; check site.json's origin and crs")
    lon, lat, h = Transformer.from_crs(ECEF, "EPSG:4979", always_xy=True).transform(*m[:3, 3])
    return Georef(m, float(lon), float(lat), float(h), note)


# -- glTF for tiles ----------------------------------------------------------------------------

def _pack_glb(gltf: dict[str, Any], binary: bytes) -> bytes:
    js = json.dumps(gltf, separators=(",", ":"), allow_nan=False).encode("utf-8")
    js += b" " * ((-len(js)) % 4)
    binary = bytes(binary) + b"\0" * ((-len(binary)) % 4)
    total = 12 + 8 + len(js) + 8 + len(binary)
    return b"".join([struct.pack("<III", _GLB_MAGIC, 2, total),
                     struct.pack("<II", len(js), _JSON), js,
                     struct.pack("<II", len(binary), _BIN), binary])


def tile_glb(src: Path | Mesh, dst: Path, *, copyright: str, extras: dict[str, Any],
             change: np.ndarray | None = None) -> None:
    """Copy an archive GLB (or write a mesh: a spatial tile) into a tile: Y-up root matrix,
    licence and attribution.

    With ``change`` (one value per vertex), the colours become the change heatmap and the
    values travel as the custom vertex attribute ``_CHANGE`` (float32, metres).
    """
    if change is not None or isinstance(src, Mesh):
        mesh = src if isinstance(src, Mesh) else read_glb(src)
        if change is not None:
            if len(change) != len(mesh.vertices):
                raise ProcessingError(f"{mesh.source or dst}: {len(change)} change values for "
                                      f"{len(mesh.vertices)} vertices; recompute the "
                                      "comparison")
            mesh = Mesh(vertices=mesh.vertices, faces=mesh.faces, frame="site",
                        vertex_colors=heat_colours(change, extras["change_range"]),
                        normals=mesh.normals)
        write_glb(mesh, dst)
        src = dst
    gltf, binary = _read_chunks(src)
    binary = bytes(binary)
    if change is not None:
        # glTF accessors hold no NaN: a vertex without a value (beyond the method's reach)
        # gets _CHANGE 0 and _CHANGE_VALID 0.
        valid = np.isfinite(change)
        for name, arr in (("_CHANGE", np.where(valid, change, 0.0)), ("_CHANGE_VALID", valid)):
            values = np.ascontiguousarray(arr, dtype=np.float32)
            offset = len(binary) + (-len(binary)) % 4
            binary += b"\0" * (offset - len(binary)) + values.tobytes()
            gltf["bufferViews"].append({"buffer": 0, "byteOffset": offset,
                                        "byteLength": values.nbytes, "target": 34962})
            gltf["accessors"].append({"bufferView": len(gltf["bufferViews"]) - 1,
                                      "componentType": 5126, "count": len(values),
                                      "type": "SCALAR", "min": [float(values.min())],
                                      "max": [float(values.max())]})
            for prim in gltf["meshes"][0]["primitives"]:
                prim["attributes"][name] = len(gltf["accessors"]) - 1
        gltf["buffers"][0]["byteLength"] = len(binary) + (-len(binary)) % 4
    if change is None:
        _unlit(gltf)
    root = gltf["scenes"][gltf.get("scene", 0)]["nodes"]
    gltf["nodes"].append({"name": "z-up to y-up", "matrix": Z_UP_TO_Y_UP, "children": root})
    gltf["scenes"][gltf.get("scene", 0)]["nodes"] = [len(gltf["nodes"]) - 1]
    gltf["asset"]["copyright"] = copyright
    gltf["asset"]["extras"] = {**gltf["asset"].get("extras", {}), **extras}
    dst.write_bytes(_pack_glb(gltf, binary))


def _unlit(gltf: dict[str, Any]) -> None:
    """Mark the materials whose colour was captured (a texture or vertex colours) unlit
    (KHR_materials_unlit): a scan's colours already carry the light of the day it was taken, so
    viewers draw them as they are instead of lighting them again (CesiumJS then also skips its
    image-based lighting, see docs/PUBLISH.md). A material without captured colour keeps its
    shading, and so do change heatmaps (not called for them): their colours are computed, and
    without shading the unchanged grey surfaces lose their shape."""
    coloured = {p.get("material") for m in gltf.get("meshes", []) for p in m["primitives"]
                if "COLOR_0" in p["attributes"]}
    unlit = False
    for i, mat in enumerate(gltf.get("materials", [])):
        if i in coloured or "baseColorTexture" in mat.get("pbrMetallicRoughness", {}):
            mat.setdefault("extensions", {})["KHR_materials_unlit"] = {}
            unlit = True
    if unlit and "KHR_materials_unlit" not in gltf.get("extensionsUsed", []):
        gltf.setdefault("extensionsUsed", []).append("KHR_materials_unlit")


def heat_colours(values: np.ndarray, vrange: float) -> np.ndarray:
    """Diverging blue (removed) - light grey (no change) - red (added), RGBA uint8."""
    t = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)) / max(vrange, 1e-9), -1, 1)
    grey = np.array([220.0, 220.0, 220.0])
    red, blue = np.array([200.0, 30.0, 30.0]), np.array([30.0, 70.0, 200.0])
    pos = np.clip(t, 0, 1)[:, None]
    neg = np.clip(-t, 0, 1)[:, None]
    rgb = grey * (1 - pos - neg) + red * pos + blue * neg
    out = np.full((len(t), 4), 255, dtype=np.uint8)
    out[:, :3] = np.round(rgb).astype(np.uint8)
    return out


# -- geometric error and the tileset -----------------------------------------------------------

def _scene(mesh: Mesh):
    import open3d as o3d
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.asarray(mesh.vertices, dtype=np.float32)),
                        o3d.core.Tensor(np.asarray(mesh.faces, dtype=np.uint32)))
    return scene


def _distance(scene, points: np.ndarray) -> float:
    """Largest distance from ``points`` to the surface in ``scene``."""
    import open3d as o3d
    query = o3d.core.Tensor(np.asarray(points, dtype=np.float32))
    return float(scene.compute_distance(query).numpy().max(initial=0.0))


def geometric_errors(chain: list[Mesh]) -> list[float]:
    """Per LOD, the symmetric Hausdorff distance at vertices to LOD 0 (``chain[0]``); 0 for
    LOD 0. The full mesh's distance structure is built once for the whole chain."""
    full = _scene(chain[0])
    return [0.0] + [max(_distance(full, m.vertices), _distance(_scene(m), chain[0].vertices))
                    for m in chain[1:]]


def box_of(lo: np.ndarray, hi: np.ndarray) -> list[float]:
    """3D Tiles box (centre + three half-axes) around the corners ``lo``, ``hi``."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    c, h = (lo + hi) / 2, np.maximum((hi - lo) / 2, 0.01)
    return [float(v) for v in (*c, h[0], 0, 0, 0, h[1], 0, 0, 0, h[2])]


Bounds = tuple[np.ndarray, np.ndarray]   # lo, hi corners of a tile's content (site frame)


def write_tiles(chain: list[Mesh], sources: list[Path], tiling: list[LodTiles], folder: Path,
                *, copyright: str, extras: dict[str, Any],
                change: list[np.ndarray] | None = None) -> dict[tuple[int, Cell], Bounds]:
    """Write every tile of ``tiling`` into ``folder``: an LOD that is not split is its archive
    GLB (``sources[k]``) copied as a tile; a split LOD is one GLB per cell. Returns each
    tile's content bounds, keyed (lod, cell)."""
    bounds: dict[tuple[int, Cell], Bounds] = {}
    for lt in tiling:
        k, mesh = lt.lod, chain[lt.lod]
        values = None if change is None else change[k]
        more = {**extras, "lod": k}
        if not lt.is_split:
            tile_glb(sources[k], folder / lt.uri(ROOT), copyright=copyright, extras=more,
                     change=values)
            v = np.asarray(mesh.vertices)
            bounds[(k, ROOT)] = (v.min(axis=0), v.max(axis=0))
            continue
        (folder / f"lod{k}").mkdir(exist_ok=True)
        for cell, faces in lt.cells.items():
            sub, used = sub_mesh(mesh, faces)
            tile_glb(sub, folder / lt.uri(cell), copyright=copyright,
                     extras={**more, "tile": quadkey(cell)},
                     change=None if values is None else values[used])
            bounds[(k, cell)] = (sub.vertices.min(axis=0), sub.vertices.max(axis=0))
    return bounds


def tileset(tiling: list[LodTiles], bounds: dict[tuple[int, Cell], Bounds],
            errors: list[float], georef: Georef, asset_extras: dict[str, Any],
            properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """tileset.json for one tiled LOD chain: the coarsest LOD at the top, each tile of LOD k
    the parent (REPLACE) of the LOD k-1 tiles inside its cell, LOD 0's tiles leaves with
    geometric error 0. An LOD that is not split is one tile (the plain chain).

    ``errors[k]`` is LOD k's geometric error (every tile of the LOD gets it); parents always
    have at least their children's error (3D Tiles requires it). A tile's box holds its own
    content and its children's boxes, so it is tight and still encloses everything below.
    """
    running = np.maximum.accumulate(np.asarray(errors, dtype=np.float64))
    top = len(tiling)                    # the level of a content-less root, if one is needed
    tiles: dict[tuple[int, Cell], dict[str, Any]] = {}
    kids: dict[tuple[int, Cell], list[tuple[int, Cell]]] = {}

    def make(key: tuple[int, Cell]) -> None:
        k, cell = key
        tile: dict[str, Any] = {"geometricError": float(running[min(k, top - 1)]),
                                "refine": "REPLACE"}
        if key in bounds:
            tile["content"] = {"uri": tiling[k].uri(cell)}
        tiles[key], kids[key] = tile, []

    def parent_key(k: int, cell: Cell) -> tuple[int, Cell]:
        if k + 1 >= top:
            return (top, ROOT)
        split = tiling[k + 1].split
        path = [cell]
        while path[-1][0] > 0:
            path.append(parent_of(path[-1]))
        return (k + 1, next(a for a in reversed(path) if a not in split))

    for k in range(top):
        level = sorted({key for key in bounds if key[0] == k} | {key for key in tiles
                                                                 if key[0] == k})
        for key in level:
            if key not in tiles:
                make(key)
            up = parent_key(*key)
            if up not in tiles:
                make(up)
            kids[up].append(key)
    coarsest = [key for key in tiles if key[0] == top - 1]
    root_key = coarsest[0] if coarsest == [(top - 1, ROOT)] else (top, ROOT)
    if root_key[0] == top:
        tiles[root_key]["geometricError"] = float(running[-1])

    def finish(key: tuple[int, Cell]) -> Bounds:
        tile = tiles[key]
        parts = [bounds[key]] if key in bounds else []
        children = sorted(kids.get(key, []), key=lambda c: quadkey(c[1]))
        if children:
            tile["children"] = [tiles[c] for c in children]
            parts += [finish(c) for c in children]
        lo = np.min([p[0] for p in parts], axis=0)
        hi = np.max([p[1] for p in parts], axis=0)
        tile["boundingVolume"] = {"box": box_of(lo, hi)}
        return lo, hi

    lo, hi = finish(root_key)
    root = tiles[root_key]
    root["transform"] = georef.transform
    diagonal = float(np.linalg.norm(np.maximum(hi - lo, 0.02)))
    doc: dict[str, Any] = {
        "asset": {"version": "1.1", "generator": "stadtzeit publish", "extras": asset_extras},
        "geometricError": max(diagonal, root["geometricError"]),
        "root": root,
    }
    if properties:
        doc["properties"] = properties
    return doc
