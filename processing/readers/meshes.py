"""Meshes (PLY, OBJ+MTL, glTF/GLB, STL through trimesh; VTP/VTK through pyvista) and PLY points.

Texture coordinates are returned in the glTF convention (origin top-left, v down); trimesh and
VTK use OpenGL's (origin bottom-left), so v becomes 1 - v here and nowhere else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from processing.errors import ReaderError
from processing.readers.crs import resolve_crs
from processing.types import Mesh, PointCloud

log = logging.getLogger(__name__)

_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2",
              "int16": "i2", "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4",
              "uint": "u4", "uint32": "u4", "float": "f4", "float32": "f4", "double": "f8",
              "float64": "f8"}


@dataclass
class PlyHeader:
    format: str
    length: int                                       # bytes up to and including end_header
    lines: int                                        # header lines (for ASCII bodies)
    elements: list[tuple[str, int, list[tuple[str, str]]]] = field(default_factory=list)

    @property
    def n_faces(self) -> int:
        return sum(n for name, n, _ in self.elements if name in ("face", "tristrips"))


def ply_header(path: Path) -> PlyHeader:
    """Parse a PLY header: format and elements with their (name, type) properties."""
    with open(path, "rb") as f:
        raw = f.read(65536)
    end = raw.find(b"end_header")
    if not raw.startswith(b"ply") or end < 0:
        raise ReaderError(path, "is not a valid PLY file (no 'ply' … 'end_header' header); the "
                                "file is damaged or misnamed")
    nl = raw.find(b"\n", end)
    length = (nl + 1) if nl >= 0 else len(raw)
    text = raw[:length].decode("ascii", errors="replace").splitlines()
    header = PlyHeader(format="", length=length, lines=len(text))
    for line in text:
        tok = line.split()
        if not tok:
            continue
        if tok[0] == "format":
            header.format = tok[1]
        elif tok[0] == "element":
            header.elements.append((tok[1], int(tok[2]), []))
        elif tok[0] == "property" and header.elements:
            # "property list uchar int vertex_indices" has no fixed size: mark it "list".
            ptype = "list" if tok[1] == "list" else tok[1]
            header.elements[-1][2].append((tok[-1], ptype))
    return header


def read_ply_points(path: str | Path, crs: str | None = None) -> PointCloud:
    """A PLY without faces: x y z and, when present, colours, intensity, normals, scalars."""
    path = Path(path)
    h = ply_header(path)
    if not h.elements or h.elements[0][0] != "vertex":
        raise ReaderError(path, "PLY point files must start with the vertex element")
    _, n, props = h.elements[0]
    if any(t == "list" or t not in _PLY_TYPES for _, t in props):
        raise ReaderError(path, "has vertex properties of unknown or list type; re-export it")
    if n == 0:
        raise ReaderError(path, "contains no points")
    names = [nm for nm, _ in props]
    if not {"x", "y", "z"} <= set(names):
        raise ReaderError(path, "has no x, y, z vertex properties")
    if h.format == "ascii":
        table = np.loadtxt(path, skiprows=h.lines, max_rows=n, ndmin=2, dtype=np.float64)
        if table.shape != (n, len(props)):
            raise ReaderError(path, f"the header announces {n:,} points of {len(props)} values "
                                    f"but the file holds {table.shape}; it is truncated")
        cols = {nm: table[:, i] for i, nm in enumerate(names)}
    else:
        order = {"binary_little_endian": "<", "binary_big_endian": ">"}.get(h.format)
        if order is None:
            raise ReaderError(path, f"unknown PLY format {h.format!r}")
        dtype = np.dtype([(nm, order + _PLY_TYPES[t]) for nm, t in props])
        if path.stat().st_size < h.length + n * dtype.itemsize:
            raise ReaderError(path, f"the header announces {n:,} points but the file is "
                                    "shorter: it is truncated — copy it again")
        rec = np.fromfile(path, dtype=dtype, count=n, offset=h.length)
        cols = {nm: rec[nm] for nm in names}
    xyz = np.column_stack([cols["x"], cols["y"], cols["z"]]).astype(np.float64, copy=False)
    rgb = None
    for r, g, b in (("red", "green", "blue"), ("r", "g", "b"), ("diffuse_red", "diffuse_green",
                                                                "diffuse_blue")):
        if {r, g, b} <= set(names):
            c = np.column_stack([cols[r], cols[g], cols[b]])
            rgb = (c.astype(np.uint16) * 257 if float(c.max(initial=0)) <= 255
                   else c.astype(np.uint16))
            used = {r, g, b}
            break
    else:
        used = set()
    normals = None
    if {"nx", "ny", "nz"} <= set(names):
        normals = np.column_stack([cols["nx"], cols["ny"], cols["nz"]]).astype(np.float32)
        used |= {"nx", "ny", "nz"}
    intensity = None
    for nm in ("intensity", "scalar_intensity", "scalar_Intensity"):
        if nm in cols:
            v = cols[nm]
            intensity = np.clip(np.rint(v * 65535.0 if float(v.max()) <= 1.0 else v),
                                0, 65535).astype(np.uint16)
            used.add(nm)
            break
    classification = None
    for nm in ("classification", "scalar_classification", "scalar_Classification"):
        if nm in cols:
            classification = np.asarray(cols[nm]).astype(np.uint8)
            used.add(nm)
            break
    skip = {"x", "y", "z", "alpha", *used}
    extra = {nm: np.ascontiguousarray(cols[nm]) for nm in names if nm not in skip}
    return PointCloud(xyz=np.ascontiguousarray(xyz), crs=resolve_crs(None, crs, path), rgb=rgb,
                      intensity=intensity, classification=classification, normals=normals,
                      extra=extra, source=path)


def _image_array(image) -> np.ndarray | None:
    if image is None:
        return None
    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info else "RGB"
    return np.asarray(image.convert(mode), dtype=np.uint8)


def _gltf_uv(uv: np.ndarray) -> np.ndarray:
    out = np.array(uv, dtype=np.float32)
    out[:, 1] = 1.0 - out[:, 1]
    return out


def read_trimesh(path: str | Path, crs: str | None = None) -> Mesh:
    """PLY, OBJ (+MTL and texture), glTF/GLB and STL through trimesh, without any repair."""
    import trimesh

    from processing.companions import check_companions

    path = Path(path)
    check_companions(path)       # trimesh would put a grey 2x2 texture in a missing one's place
    try:
        loaded = trimesh.load(path, process=False)
    except Exception as exc:  # trimesh raises many types for damaged files
        raise ReaderError(path, f"cannot be read as a mesh ({type(exc).__name__}: {exc}); the "
                                "file is damaged or truncated — re-export it") from exc
    if isinstance(loaded, trimesh.Scene):
        meshes = [g for g in loaded.geometry.values() if isinstance(g, trimesh.Trimesh)]
        if not meshes:
            raise ReaderError(path, "contains no triangle mesh")
        # Node transforms applied; several textures are packed into one atlas by trimesh.
        loaded = loaded.to_mesh()
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise ReaderError(path, "contains no triangles; read it with read_points")
    faces = np.asarray(loaded.faces)
    if faces.size and (faces.min() < 0 or faces.max() >= len(loaded.vertices)):
        raise ReaderError(path, "has faces that refer to missing vertices; it is damaged")
    visual = loaded.visual
    colors = uv = texture = texture_format = None
    if visual.kind == "vertex":
        colors = np.asarray(visual.vertex_colors, dtype=np.uint8)
    elif visual.kind == "face":
        log.warning("%s: per-face colours are not kept (stadtzeit keeps vertex colours or one "
                    "texture)", path)
    elif visual.kind == "texture" or getattr(visual, "uv", None) is not None:
        if getattr(visual, "uv", None) is not None and len(visual.uv) == len(loaded.vertices):
            uv = _gltf_uv(visual.uv)
        material = getattr(visual, "material", None)
        image = getattr(material, "image", None)
        if image is None:
            image = getattr(material, "baseColorTexture", None)
        texture = _image_array(image)
        texture_format = _image_format(image)
        if uv is not None and texture is None:
            log.warning("%s: has texture coordinates but its texture image was not found next "
                        "to it (check the MTL/glTF image names)", path)
    return Mesh(vertices=np.asarray(loaded.vertices, dtype=np.float64), faces=faces,
                crs=resolve_crs(None, crs, path), vertex_colors=colors, uv=uv, texture=texture,
                texture_format=texture_format, source=path,
                texture_file=_texture_file(path) if texture is not None else None)


_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def _texture_file(path: Path) -> Path | None:
    """The one image file ``path`` refers to (processing.gltf embeds its bytes unchanged when
    they decode to the texture as read)."""
    from processing.companions import companions

    images = [p for p in companions(path) if p.suffix.lower() in _IMAGE_SUFFIXES]
    return images[0] if len(images) == 1 else None


def _image_format(image) -> str | None:
    """"jpeg" for a JPEG photo (kept JPEG in the products), else "png" (lossless)."""
    if image is None:
        return None
    return "jpeg" if getattr(image, "format", None) == "JPEG" else "png"


def _sibling_texture(path: Path) -> tuple[np.ndarray | None, str | None, Path | None]:
    from PIL import Image

    from processing.companions import sibling_texture

    candidate = sibling_texture(path)
    if candidate is None:
        return None, None, None
    log.info("%s: using %s as its texture", path, candidate.name)
    with Image.open(candidate) as img:
        return _image_array(img), _image_format(img), candidate


def read_vtk(path: str | Path, crs: str | None = None) -> Mesh | PointCloud:
    """VTP/VTK through pyvista: a Mesh when it has polygons, else its points."""
    import pyvista as pv

    path = Path(path)
    try:
        # VTK only prints its errors; the catcher turns them into an exception to report.
        with pv.VtkErrorCatcher(raise_errors=True):
            data = pv.read(path)
    except Exception as exc:  # VTK reports damage in many ways
        first = next((ln for ln in str(exc).splitlines() if "Error" in ln), str(exc))
        raise ReaderError(path, f"cannot be read as VTK data ({first.strip()[:200]}); the file "
                                "is damaged or truncated — re-export it") from exc
    if data is None or data.n_points == 0:
        raise ReaderError(path, "contains no points (empty or damaged VTK file)")
    if not isinstance(data, pv.PolyData):
        data = data.extract_surface()
    site_crs = resolve_crs(None, crs, path)
    if data.faces.size == 0 and data.n_strips == 0:
        return PointCloud(xyz=np.asarray(data.points, dtype=np.float64), crs=site_crs,
                          source=path)
    if not data.is_all_triangles:
        data = data.triangulate()
    faces = np.asarray(data.regular_faces, dtype=np.int64)
    colors = None
    for name in [data.point_data.active_scalars_name, "RGBA", "RGB", "Colors", "colors"]:
        if name and name in data.point_data:
            arr = np.asarray(data.point_data[name])
            if arr.dtype == np.uint8 and arr.ndim == 2 and arr.shape[1] in (3, 4):
                alpha = np.full((len(arr), 1), 255, np.uint8)
                colors = arr if arr.shape[1] == 4 else np.hstack([arr, alpha])
                break
    uv = texture = texture_format = texture_file = None
    tc = data.active_texture_coordinates
    if tc is not None:
        uv = _gltf_uv(np.asarray(tc))
        texture, texture_format, texture_file = _sibling_texture(path)
    normals = None
    if "Normals" in data.point_data:
        normals = np.asarray(data.point_data["Normals"], dtype=np.float32)
    return Mesh(vertices=np.asarray(data.points, dtype=np.float64), faces=faces, crs=site_crs,
                vertex_colors=colors, normals=normals, uv=uv, texture=texture,
                texture_format=texture_format, texture_file=texture_file, source=path)
