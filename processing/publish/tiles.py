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


def tile_glb(src: Path, dst: Path, *, copyright: str, extras: dict[str, Any],
             change: np.ndarray | None = None) -> None:
    """Copy an archive GLB into a tile: Y-up root matrix, licence and attribution.

    With ``change`` (one value per vertex), the colours become the change heatmap and the
    values travel as the custom vertex attribute ``_CHANGE`` (float32, metres).
    """
    if change is not None:
        mesh = read_glb(src)
        if len(change) != len(mesh.vertices):
            raise ProcessingError(f"{src}: {len(change)} change values for "
                                  f"{len(mesh.vertices)} vertices; recompute the comparison")
        heat = Mesh(vertices=mesh.vertices, faces=mesh.faces, frame="site",
                    vertex_colors=heat_colours(change, extras["change_range"]),
                    normals=mesh.normals)
        write_glb(heat, dst)
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
    root = gltf["scenes"][gltf.get("scene", 0)]["nodes"]
    gltf["nodes"].append({"name": "z-up to y-up", "matrix": Z_UP_TO_Y_UP, "children": root})
    gltf["scenes"][gltf.get("scene", 0)]["nodes"] = [len(gltf["nodes"]) - 1]
    gltf["asset"]["copyright"] = copyright
    gltf["asset"]["extras"] = {**gltf["asset"].get("extras", {}), **extras}
    dst.write_bytes(_pack_glb(gltf, binary))


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


def box_of(vertices: np.ndarray) -> list[float]:
    """3D Tiles box (centre + three half-axes) around points in the tile's frame."""
    lo, hi = np.asarray(vertices).min(axis=0), np.asarray(vertices).max(axis=0)
    c, h = (lo + hi) / 2, np.maximum((hi - lo) / 2, 0.01)
    return [float(v) for v in (*c, h[0], 0, 0, 0, h[1], 0, 0, 0, h[2])]


def tileset(lods: list[tuple[str, Mesh]], errors: list[float], georef: Georef,
            asset_extras: dict[str, Any], properties: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    """tileset.json for one LOD chain: coarsest at the root, each finer LOD its only child
    (REPLACE), the full LOD a leaf with geometric error 0.

    ``lods`` are (content uri, mesh) from LOD 0 (full) to the coarsest; ``errors[k]`` is LOD k's
    geometric error. Parents always have at least their child's error (3D Tiles requires it).
    """
    box = box_of(np.vstack([m.vertices for _, m in lods]))
    node: dict[str, Any] | None = None
    running = 0.0
    for (uri, _), err in zip(lods, errors, strict=True):
        running = max(running, err)
        tile: dict[str, Any] = {"boundingVolume": {"box": box}, "geometricError": running,
                                "refine": "REPLACE", "content": {"uri": uri}}
        if node is not None:
            tile["children"] = [node]
        node = tile
    assert node is not None
    node["transform"] = georef.transform
    half = np.array(box[3:]).reshape(3, 3)
    diagonal = float(2 * np.linalg.norm(half.sum(axis=0)))
    doc: dict[str, Any] = {
        "asset": {"version": "1.1", "generator": "stadtzeit publish", "extras": asset_extras},
        "geometricError": max(diagonal, node["geometricError"]),
        "root": node,
    }
    if properties:
        doc["properties"] = properties
    return doc
