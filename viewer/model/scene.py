"""Renderer-neutral scene description: meshes as arrays, and what each view draws.

The desktop renderer (VTK), the VR renderer and the exporters consume `MeshData` and `Layer`s;
nothing here knows about Qt. GLB files are read through VTK's glTF reader (pyvista.read's path,
the fastest in BASELINES.md), in a worker thread; arrays are taken from it without copies.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assets_manifest.errors import StadtzeitError
from viewer.model.state import ChangeData, CompareMode, Region, ViewerModel

INTERACTIVE_FACE_BUDGET = 300_000   # triangles per mesh that llvmpipe orbits at a usable rate


class Cancelled(Exception):
    """Raised inside background work to stop early after the user cancelled."""


class ProductError(StadtzeitError):
    """An archive product (a mesh, a change file) is missing or damaged."""

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass
class MeshData:
    """A triangle mesh in the site frame, ready for any renderer.

    `texture` is an image (first row at the top); `uv` has v up (OpenGL convention, as VTK
    delivers it).
    """

    vertices: np.ndarray                     # (N, 3) float32, site frame
    faces: np.ndarray                        # (M, 3) int32/int64
    colors: np.ndarray | None = None         # (N, 3) uint8
    uv: np.ndarray | None = None             # (N, 2) float32
    texture: np.ndarray | None = None        # (H, W, 3|4) uint8
    scalars: dict[str, np.ndarray] = field(default_factory=dict)
    origin: np.ndarray = field(default_factory=lambda: np.zeros(3))  # float64, site CRS
    source: str = ""
    native: Any = None                       # the reader's own object, reused by VTK
    native_texture: Any = None               # `texture` as the reader's vtkImageData (rows up)

    @property
    def n_faces(self) -> int:
        return int(self.faces.shape[0])

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def bounds(self) -> tuple[float, float, float, float, float, float]:
        lo, hi = self.vertices.min(axis=0), self.vertices.max(axis=0)
        return (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]), float(lo[2]),
                float(hi[2]))

    @property
    def nbytes(self) -> int:
        arrays = [self.vertices, self.faces, self.colors, self.uv, self.texture,
                  *self.scalars.values()]
        size = sum(a.nbytes for a in arrays if a is not None)
        if self.native_texture is not None:
            size += self.native_texture.GetActualMemorySize() * 1024
        return size


# --------------------------------------------------------------------------- GLB

def glb_json(path: Path) -> dict[str, Any]:
    """The JSON chunk of a GLB after checking the container, so damage gets a clear message."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            header = f.read(20)
            if len(header) < 20:
                raise ProductError(path, f"not a GLB file: only {size} bytes")
            magic, version, length, chunk_len, chunk_type = struct.unpack("<4sIIII", header)
            if magic != b"glTF":
                raise ProductError(path, "not a GLB file (no 'glTF' signature)")
            if version != 2:
                raise ProductError(path, f"GLB version {version} is not supported (need 2)")
            if length != size:
                raise ProductError(
                    path, f"damaged GLB: the header declares {length} bytes but the file has "
                          f"{size} (truncated copy?); verify the archive with "
                          f"'stadtzeit archive verify'")
            if chunk_type != 0x4E4F534A:  # "JSON"
                raise ProductError(path, "damaged GLB: the first chunk is not JSON")
            return json.loads(f.read(chunk_len))
    except OSError as exc:
        raise ProductError(path, f"cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProductError(path, f"damaged GLB: its JSON chunk is unreadable ({exc})") from exc


def glb_face_count(path: Path) -> int:
    """Triangles in a GLB, from its JSON alone (no geometry is read)."""
    doc = glb_json(path)
    accessors = doc.get("accessors", [])
    total = 0
    for mesh in doc.get("meshes", []):
        for prim in mesh.get("primitives", []):
            if prim.get("mode", 4) != 4:
                continue
            idx = prim.get("indices")
            acc = accessors[idx] if idx is not None else accessors[prim["attributes"]["POSITION"]]
            total += int(acc.get("count", 0)) // 3
    return total


def choose_lod(face_counts: Mapping[int, int], budget: int = INTERACTIVE_FACE_BUDGET) -> int:
    """The finest LOD within the triangle budget; the coarsest when none fits."""
    if not face_counts:
        raise ValueError("no LODs to choose from")
    fitting = [k for k, n in face_counts.items() if n <= budget]
    return min(fitting) if fitting else max(face_counts)


def read_glb(path: Path, origin: np.ndarray | None = None, source: str = "") -> MeshData:
    """Read a GLB product into `MeshData` (all primitives merged). Safe in a worker thread."""
    import pyvista as pv
    from vtkmodules.vtkIOGeometry import vtkGLTFReader

    path = Path(path)
    glb_json(path)  # container check first: VTK only logs what went wrong
    reader = vtkGLTFReader()
    reader.SetFileName(str(path))
    with pv.VtkErrorCatcher() as errors:
        reader.Update()
    blocks = _leaves(pv.wrap(reader.GetOutput())) if reader.GetOutput() else []
    if not blocks:
        detail = "; ".join(str(e).strip().splitlines()[0] for e in errors.events[:1]) or "no mesh"
        raise ProductError(path, f"damaged GLB: VTK's glTF reader found no geometry ({detail})")
    mesh = blocks[0] if len(blocks) == 1 else pv.merge(blocks, merge_points=False)
    if not isinstance(mesh, pv.PolyData):
        mesh = mesh.extract_surface(algorithm=None)
    if not mesh.is_all_triangles:
        mesh = mesh.triangulate()
    if mesh.n_cells == 0:
        raise ProductError(path, "the mesh has no triangles")
    faces = mesh.regular_faces
    colors = None
    if "COLOR_0" in mesh.point_data:
        c = np.asarray(mesh.point_data["COLOR_0"])
        colors = (np.clip(c[:, :3], 0, 1) * 255 + 0.5).astype(np.uint8) if c.dtype.kind == "f" \
            else c[:, :3].astype(np.uint8)
    uv = None
    if "TEXCOORD_0" in mesh.point_data:  # glTF's v runs down the image; VTK's runs up
        uv = np.array(mesh.point_data["TEXCOORD_0"], np.float32)
        uv[:, 1] = 1.0 - uv[:, 1]
    texture = native_texture = None
    if uv is not None and reader.GetNumberOfTextures() > 0:
        img = reader.GetTexture(0).GetVTKTexture().GetInput()
        if img is not None:
            w, h, _ = img.GetDimensions()
            arr = np.asarray(pv.wrap(img).active_scalars)
            texture = arr.reshape(h, w, -1)[::-1].astype(np.uint8)  # VTK rows run upwards
            # kept for the views: a VTK texture made from `texture` on the UI thread costs
            # 100-200 ms for a 2048² image (pyvista's copy and flip)
            native_texture = img
    points = np.asarray(mesh.points)
    return MeshData(
        vertices=points if points.dtype == np.float32 else points.astype(np.float32),
        faces=faces, colors=colors, uv=uv, texture=texture,
        origin=np.zeros(3) if origin is None else np.asarray(origin, np.float64),
        source=source or str(path), native=mesh, native_texture=native_texture)


def _leaves(block: Any) -> list[Any]:
    import pyvista as pv
    if isinstance(block, pv.MultiBlock):
        out = []
        for child in block:
            if child is not None:
                out.extend(_leaves(child))
        return out
    return [block] if block is not None and block.n_points else []


# --------------------------------------------------------------------------- change products

def read_change_values(path: Path, n_vertices: int | None = None) -> dict[str, np.ndarray]:
    """Per-vertex arrays of a `lod<k>.npz` change product.

    Returns at least "distance" (float32, metres); also "uncertainty"/"significant" when stored.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k]) for k in npz.files}
    except (OSError, ValueError) as exc:
        raise ProductError(path, f"damaged change product: {exc}") from exc
    names = ("distance", "distances", "change", "values", "d", "m3c2", "c2m", "c2c")
    key = next((k for k in names if k in arrays), None)
    if key is None:  # the first float vector of the right length
        key = next((k for k, a in arrays.items() if a.dtype.kind == "f" and a.ndim == 1
                    and (n_vertices is None or len(a) == n_vertices)), None)
    if key is None:
        raise ProductError(path, f"no per-vertex change values in it (arrays: {sorted(arrays)})")
    out = {"distance": arrays[key].astype(np.float32, copy=False)}
    if n_vertices is not None and len(out["distance"]) != n_vertices:
        raise ProductError(path, f"{len(out['distance'])} change values for a mesh of "
                                 f"{n_vertices} vertices: the product does not match the mesh")
    for k in ("uncertainty", "lod", "level_of_detection", "significant", "significance"):
        if k in arrays and len(arrays[k]) == len(out["distance"]):
            out["significant" if k.startswith("signific") else
                "uncertainty" if k == "uncertainty" else "lod"] = arrays[k]
    return out


def change_from_products(a: str, b: str, lod: int, values: dict[str, np.ndarray],
                         summary: dict[str, Any] | None) -> ChangeData:
    """Combine a `lod<k>.npz` and its `summary.json` into the model's `ChangeData`."""
    summary = summary or {}
    lod_value = _first_number(summary, ("level_of_detection", "lod95", "lod", "threshold"))
    significant = values.get("significant")
    if significant is None and "lod" in values:  # per-vertex LoD: significant where |d| >= it
        significant = np.abs(values["distance"]) >= values["lod"]
    if lod_value is None and "lod" in values:
        lod_value = float(np.nanmedian(values["lod"]))
    hist = None
    h = summary.get("histogram")
    if isinstance(h, dict) and "counts" in h and ("edges" in h or "bins" in h):
        hist = (np.asarray(h["counts"], float), np.asarray(h.get("edges", h.get("bins")), float))
    regions = summary.get("regions") or []
    method = str(summary.get("method") or summary.get("parameters", {}).get("method", ""))
    return ChangeData(a=a, b=b, lod=lod, values=values["distance"],
                      level_of_detection=lod_value, histogram=hist,
                      significant=None if significant is None else np.asarray(significant, bool),
                      regions=[Region.from_json(r, i) for i, r in enumerate(regions)
                               if isinstance(r, dict)], method=method)


def _first_number(d: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    """The first numeric value under one of `keys`, at the top level or one level down."""
    for scope in (d, *(v for v in d.values() if isinstance(v, dict))):
        for k in keys:
            v = scope.get(k)
            if isinstance(v, int | float) and not isinstance(v, bool):
                return float(v)
    return None


def histogram(values: np.ndarray, limit: float, bins: int = 41) -> tuple[np.ndarray, np.ndarray]:
    v = values[np.isfinite(values)]
    return np.histogram(np.clip(v, -limit, limit), bins=bins, range=(-limit, limit))


# --------------------------------------------------------------------------- colours

# Diverging blue - white - red (negative = removed/lowered, positive = added/raised);
# control points chosen to stay readable for red-green colour-blind viewers.
_DIVERGING = np.array([
    [0.00, 33, 102, 172],
    [0.25, 103, 169, 207],
    [0.50, 247, 247, 247],
    [0.75, 239, 138, 98],
    [1.00, 178, 24, 43],
])
NO_VALUE_GREY = np.array([90, 90, 90], np.uint8)
INSIGNIFICANT_GREY = np.array([150, 150, 150], np.uint8)  # mid grey: apart from white (0)


def diverging_colormap(n: int = 256) -> np.ndarray:
    """(n, 3) uint8 colour table from -limit (index 0) through zero (white) to +limit."""
    t = np.linspace(0, 1, n)
    return np.stack([np.interp(t, _DIVERGING[:, 0], _DIVERGING[:, c]) for c in (1, 2, 3)],
                    axis=1).round().astype(np.uint8)


def change_colors(values: np.ndarray, limit: float, level_of_detection: float | None = None,
                  significant_only: bool = False,
                  significant: np.ndarray | None = None) -> np.ndarray:
    """Per-vertex RGB for change values, centred on zero; greys for no value / not significant.

    Significance is the product's own per-vertex flag when given (M3C2 has one LoD per core),
    else |d| >= level_of_detection."""
    lut = diverging_colormap()
    v = np.asarray(values, np.float32)
    finite = np.isfinite(v)
    idx = np.clip(((np.where(finite, v, 0) / limit + 1) / 2 * (len(lut) - 1)).round(), 0,
                  len(lut) - 1).astype(np.intp)
    rgb = lut[idx]
    if significant_only and significant is not None:
        rgb[finite & ~np.asarray(significant, bool)] = INSIGNIFICANT_GREY
    elif significant_only and level_of_detection:
        rgb[finite & (np.abs(v) < level_of_detection)] = INSIGNIFICANT_GREY
    rgb[~finite] = NO_VALUE_GREY
    return rgb


# --------------------------------------------------------------------------- composition

@dataclass
class Layer:
    """One mesh as a view draws it."""

    key: str                                  # identity of the mesh: "<epoch>/lod<k>"
    epoch: str
    mesh: MeshData
    opacity: float = 1.0
    colors: np.ndarray | None = None          # overrides the mesh's own colours (heatmap)
    colors_key: str = ""                      # changes when `colors` must be re-uploaded
    clip: str | None = None                   # "left"/"right" of the swipe divider


@dataclass
class SceneDescription:
    layers: list[Layer]
    swipe: float | None = None                # divider position 0..1 across the view


def mesh_key(epoch: str, lod: int) -> str:
    return f"{epoch}/lod{lod}"


def compose(model: ViewerModel, meshes: Mapping[str, MeshData], view: str = "primary",
            lods: Mapping[str, int] | None = None,
            heat_colors: np.ndarray | None = None) -> SceneDescription:
    """What `view` ("primary" or "secondary") draws for the model's state.

    `meshes` maps `mesh_key`s to loaded meshes and `lods` each epoch to its chosen LOD; epochs
    whose mesh is not loaded yet are left out (the view shows them when they arrive).
    """
    lods = lods or {}

    def layer(epoch: str | None, **kw: Any) -> list[Layer]:
        if epoch is None or epoch not in lods:
            return []
        key = mesh_key(epoch, lods[epoch])
        return [Layer(key, epoch, meshes[key], **kw)] if key in meshes else []

    mode, a, b = model.compare_mode, model.epoch_a, model.epoch
    if view == "secondary":
        return SceneDescription(layer(b) if mode == CompareMode.SIDE_BY_SIDE else [])
    if mode == CompareMode.SIDE_BY_SIDE:
        return SceneDescription(layer(a))
    if mode == CompareMode.OVERLAY:
        alpha = model.overlay_opacity
        if a == b:
            return SceneDescription(layer(b))
        return SceneDescription(layer(a, opacity=1 - alpha) + layer(b, opacity=alpha))
    if mode == CompareMode.SWIPE:
        return SceneDescription(layer(a, clip="left") + layer(b, clip="right"),
                                swipe=model.swipe_position)
    if mode == CompareMode.HEATMAP:
        ch = model.change
        if ch is not None and heat_colors is not None and (ch.a, ch.b) == (a, b):
            key = mesh_key(b, ch.lod)
            if key in meshes and meshes[key].n_vertices == len(heat_colors):
                tag = f"heat:{ch.a}:{ch.b}:{ch.lod}:{int(model.significant_only)}:{id(ch)}"
                return SceneDescription([Layer(key, b, meshes[key], colors=heat_colors,
                                               colors_key=tag)])
        return SceneDescription(layer(b))
    if model.fade_from and model.fade_t < 1.0:
        t = model.fade_t
        return SceneDescription(layer(model.fade_from, opacity=1 - t) + layer(b, opacity=t))
    return SceneDescription(layer(b))


def heat_colors_for(change: ChangeData, significant_only: bool) -> np.ndarray:
    return change_colors(change.values, change.symmetric_limit(), change.level_of_detection,
                         significant_only, change.significant)
