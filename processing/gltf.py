"""Binary glTF 2.0 (GLB) for the archive's meshes: write and read our own files.

Written directly with numpy + json + struct: every array goes to the file with one
``tobytes`` and no intermediate scene graph (measured several times faster than trimesh's
exporter on a 2M-face mesh; see benchmarks/bench_stages.py).

What a file holds: one mesh with one triangle primitive; float32 ``POSITION`` in the site frame
(Z up, metres — glTF's "Y up" is deliberately *not* applied: the archive's frame is the site
CRS minus its origin, and exporters for third-party viewers rotate), ``NORMAL``, ``COLOR_0`` as
normalised uint8 RGBA, ``TEXCOORD_0`` with an embedded PNG/JPEG base-colour texture, uint32
indices, min/max on the position accessor, ``asset.generator`` = "stadtzeit …" and caller
``extras`` (site origin, CRS, …) on the scene, where trimesh reads them as scene metadata.
"""

from __future__ import annotations

import io
import json
import struct
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from processing.errors import ProcessingError, ReaderError
from processing.types import Mesh

_MAGIC, _JSON, _BIN = 0x46546C67, 0x4E4F534A, 0x004E4942
_FLOAT, _UBYTE, _USHORT, _UINT = 5126, 5121, 5123, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_NCOMP = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
_DTYPE = {5120: np.int8, _UBYTE: np.uint8, 5122: np.int16, _USHORT: np.uint16, _UINT: np.uint32,
          _FLOAT: np.float32}

#: float64 positions beyond this magnitude are real CRS coordinates, not site-local ones
MAX_SITE_COORD = 1e5


def _generator() -> str:
    try:
        return f"stadtzeit {metadata.version('stadtzeit')}"
    except metadata.PackageNotFoundError:
        return "stadtzeit"


def _encode_texture(tex: np.ndarray, image_format: str) -> tuple[bytes, str]:
    tex = np.asarray(tex)
    if tex.dtype != np.uint8 or tex.ndim != 3 or tex.shape[2] not in (3, 4):
        raise ProcessingError(f"texture must be (H, W, 3|4) uint8, got {tex.shape} {tex.dtype}")
    buf = io.BytesIO()
    if image_format == "png":
        Image.fromarray(tex).save(buf, format="PNG", compress_level=6)
        return buf.getvalue(), "image/png"
    if image_format == "jpeg":
        Image.fromarray(tex[:, :, :3]).save(buf, format="JPEG", quality=88)
        return buf.getvalue(), "image/jpeg"
    raise ProcessingError(f"image_format must be 'png' or 'jpeg', got {image_format!r}")


def _original_image(mesh: Mesh, image_format: str) -> tuple[bytes, str] | None:
    """The bytes of the image file the texture was read from, when they decode to exactly the
    texture (a full-resolution level): embedded as they are, a JPEG is not compressed twice."""
    if mesh.texture_file is None:
        return None
    try:
        data = Path(mesh.texture_file).read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            mime = {"JPEG": "image/jpeg", "PNG": "image/png"}.get(im.format or "")
            if mime != f"image/{image_format}":
                return None
            pixels = np.asarray(im.convert("RGBA" if mesh.texture.shape[2] == 4 else "RGB"))
    except OSError:
        return None
    same = pixels.shape == mesh.texture.shape and np.array_equal(pixels, mesh.texture)
    return (data, mime) if same else None


def write_glb(mesh: Mesh, path: str | Path, extras: dict[str, Any] | None = None,
              image_format: str | None = None) -> Path:
    """Write ``mesh`` (site frame) as a binary glTF 2.0 file; returns the path.

    The texture is encoded as ``image_format`` ("png" or "jpeg"), by default as it came
    (``mesh.texture_format``: a JPEG photo stays JPEG), else PNG.

    Refuses vertices beyond ±1e5 m: those are CRS coordinates that float32 would round to
    ~0.5 m — subtract the site origin first (processing.georef.to_site_frame).
    """
    path = Path(path)
    v = np.asarray(mesh.vertices)
    f = np.asarray(mesh.faces)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
        raise ProcessingError(f"write_glb {path}: vertices must be (N, 3), got {v.shape}")
    if f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
        raise ProcessingError(f"write_glb {path}: faces must be (M, 3) and non-empty, "
                              f"got {f.shape}")
    lo64, hi64 = v.min(axis=0), v.max(axis=0)
    if not (np.all(np.isfinite(lo64)) and np.all(np.isfinite(hi64))):
        raise ProcessingError(f"write_glb {path}: vertices contain NaN or infinity")
    if max(abs(lo64).max(), abs(hi64).max()) > MAX_SITE_COORD:
        raise ProcessingError(
            f"write_glb {path}: coordinates up to {max(abs(lo64).max(), abs(hi64).max()):.0f} m "
            "are not site-local (float32 would lose precision); subtract the site origin first")
    if f.min() < 0 or f.max() >= len(v):
        raise ProcessingError(f"write_glb {path}: face indices outside 0..{len(v) - 1}")

    pos = np.ascontiguousarray(v, dtype=np.float32)
    parts: list[bytes | memoryview] = []
    views: list[dict[str, Any]] = []
    accessors: list[dict[str, Any]] = []
    offset = 0

    def add_view(data: bytes | memoryview, target: int | None = None) -> int:
        nonlocal offset
        n = len(data)
        view: dict[str, Any] = {"buffer": 0, "byteOffset": offset, "byteLength": n}
        if target is not None:
            view["target"] = target
        views.append(view)
        parts.append(data)
        pad = (-n) % 4                              # every view starts on a 4-byte boundary
        if pad:
            parts.append(b"\0" * pad)
        offset += n + pad
        return len(views) - 1

    def add_accessor(a: np.ndarray, ctype: int, kind: str, target: int,
                     normalized: bool = False, bounds: bool = False) -> int:
        a = np.ascontiguousarray(a)
        acc: dict[str, Any] = {"bufferView": add_view(memoryview(a).cast("B"), target),
                               "componentType": ctype, "count": int(len(a)), "type": kind}
        if normalized:
            acc["normalized"] = True
        if bounds:
            acc["min"] = [float(x) for x in a.min(axis=0)]
            acc["max"] = [float(x) for x in a.max(axis=0)]
        accessors.append(acc)
        return len(accessors) - 1

    attributes = {"POSITION": add_accessor(pos, _FLOAT, "VEC3", _ARRAY_BUFFER, bounds=True)}
    normals = mesh.normals
    if normals is None:
        from processing.meshclean import vertex_normals
        normals = vertex_normals(v, f)
    attributes["NORMAL"] = add_accessor(np.asarray(normals, np.float32), _FLOAT, "VEC3",
                                        _ARRAY_BUFFER)
    if mesh.vertex_colors is not None:
        col = np.asarray(mesh.vertex_colors)
        if col.dtype != np.uint8 or col.shape not in ((len(v), 3), (len(v), 4)):
            raise ProcessingError(f"write_glb {path}: vertex_colors must be (N, 3|4) uint8")
        if col.shape[1] == 3:                       # 4-byte stride: RGBA keeps alignment
            col = np.concatenate([col, np.full((len(col), 1), 255, np.uint8)], axis=1)
        attributes["COLOR_0"] = add_accessor(col, _UBYTE, "VEC4", _ARRAY_BUFFER,
                                             normalized=True)
    textured = mesh.texture is not None and mesh.uv is not None
    if textured:
        attributes["TEXCOORD_0"] = add_accessor(np.asarray(mesh.uv, np.float32), _FLOAT,
                                                "VEC2", _ARRAY_BUFFER)
    indices = add_accessor(np.asarray(f, np.uint32).reshape(-1), _UINT, "SCALAR",
                           _ELEMENT_ARRAY_BUFFER)

    pbr: dict[str, Any] = {"baseColorFactor": [1.0, 1.0, 1.0, 1.0], "metallicFactor": 0.0,
                           "roughnessFactor": 1.0}
    gltf: dict[str, Any] = {"asset": {"version": "2.0", "generator": _generator()}}
    if textured:
        fmt = image_format or mesh.texture_format or "png"
        if fmt == "jpeg" and mesh.texture.shape[2] == 4 and mesh.texture[:, :, 3].min() < 255:
            fmt = "png"                             # JPEG has no alpha: keep transparency
        original = _original_image(mesh, fmt)
        data, mime = original or _encode_texture(mesh.texture, fmt)
        gltf["images"] = [{"bufferView": add_view(data), "mimeType": mime}]
        gltf["samplers"] = [{"magFilter": 9729, "minFilter": 9987,
                             "wrapS": 33071, "wrapT": 33071}]
        gltf["textures"] = [{"sampler": 0, "source": 0}]
        pbr["baseColorTexture"] = {"index": 0, "texCoord": 0}
    gltf["materials"] = [{"name": "scan", "pbrMetallicRoughness": pbr, "doubleSided": True}]
    gltf["meshes"] = [{"name": Path(path).stem, "primitives": [
        {"attributes": attributes, "indices": indices, "material": 0, "mode": 4}]}]
    gltf["nodes"] = [{"mesh": 0, "name": Path(path).stem}]
    scene: dict[str, Any] = {"nodes": [0]}
    if extras:
        scene["extras"] = extras
    gltf["scenes"] = [scene]
    gltf["scene"] = 0
    gltf["accessors"] = accessors
    gltf["bufferViews"] = views
    gltf["buffers"] = [{"byteLength": offset}]

    js = json.dumps(gltf, separators=(",", ":"), allow_nan=False,
                    default=_jsonable).encode("utf-8")
    js += b" " * ((-len(js)) % 4)                   # JSON chunk is padded with spaces
    total = 12 + 8 + len(js) + 8 + offset
    if total >= 2**32:
        raise ProcessingError(f"write_glb {path}: {total / 2**30:.1f} GiB exceeds GLB's 4 GiB "
                              "limit; write a coarser LOD or split the mesh into tiles")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<III", _MAGIC, 2, total))
        fh.write(struct.pack("<II", len(js), _JSON))
        fh.write(js)
        fh.write(struct.pack("<II", offset, _BIN))
        for p in parts:
            fh.write(p)
    return path


def _jsonable(o: Any) -> Any:
    """numpy values in caller extras (an origin array, a float64) become plain JSON."""
    if isinstance(o, np.ndarray | np.generic):
        return o.tolist()
    raise TypeError(f"extras value {o!r} is not JSON-serialisable")


def _read_chunks(path: Path) -> tuple[dict[str, Any], memoryview]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReaderError(path, f"cannot read file ({exc.strerror})") from exc
    if len(raw) < 20:
        raise ReaderError(path, "not a GLB file (too short)")
    magic, version, total = struct.unpack_from("<III", raw, 0)
    if magic != _MAGIC or version != 2:
        raise ReaderError(path, "not a binary glTF 2.0 file")
    if total > len(raw):
        raise ReaderError(path, f"truncated GLB ({len(raw)} of {total} bytes)")
    gltf, binary, pos = None, memoryview(b""), 12
    while pos + 8 <= total:
        length, ctype = struct.unpack_from("<II", raw, pos)
        body = memoryview(raw)[pos + 8:pos + 8 + length]
        if ctype == _JSON:
            gltf = json.loads(bytes(body))
        elif ctype == _BIN:
            binary = body
        pos += 8 + length
    if gltf is None:
        raise ReaderError(path, "GLB has no JSON chunk")
    return gltf, binary


def _accessor(gltf: dict[str, Any], binary: memoryview, index: int) -> np.ndarray:
    acc = gltf["accessors"][index]
    view = gltf["bufferViews"][acc["bufferView"]]
    dtype = np.dtype(_DTYPE[acc["componentType"]])
    ncomp = _NCOMP[acc["type"]]
    count = acc["count"]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    stride = view.get("byteStride", dtype.itemsize * ncomp)
    if stride == dtype.itemsize * ncomp:
        a = np.frombuffer(binary, dtype, count * ncomp, start)
    else:                                            # interleaved data: strided view
        a = np.ndarray((count, ncomp), dtype, binary, start, (stride, dtype.itemsize))
    return a.reshape(count, ncomp) if ncomp > 1 else a


def read_glb_extras(path: str | Path) -> dict[str, Any]:
    """The ``extras`` written by :func:`write_glb` (empty dict if none)."""
    gltf, _ = _read_chunks(Path(path))
    scenes = gltf.get("scenes") or [{}]
    return dict(scenes[gltf.get("scene", 0)].get("extras") or {})


def read_glb(path: str | Path) -> Mesh:
    """Read a GLB written by :func:`write_glb` (one triangle primitive) into a Mesh.

    Vertices stay float32 as stored (site frame); ``crs`` comes from extras["crs"] if present.
    """
    path = Path(path)
    gltf, binary = _read_chunks(path)
    try:
        prim = gltf["meshes"][0]["primitives"][0]
        if prim.get("mode", 4) != 4:
            raise ReaderError(path, "only triangle primitives (mode 4) are supported")
        attr = prim["attributes"]
        verts = _accessor(gltf, binary, attr["POSITION"])
        faces = (_accessor(gltf, binary, prim["indices"]).astype(np.int64).reshape(-1, 3)
                 if "indices" in prim else np.arange(len(verts)).reshape(-1, 3))
        mesh = Mesh(vertices=np.array(verts, np.float32),
                    faces=faces.astype(np.int32 if len(verts) < 2**31 else np.int64),
                    frame="site", source=path)
        if "NORMAL" in attr:
            mesh.normals = np.array(_accessor(gltf, binary, attr["NORMAL"]), np.float32)
        if "COLOR_0" in attr:
            col = _accessor(gltf, binary, attr["COLOR_0"])
            if col.dtype == np.float32:
                col = np.rint(np.clip(col, 0, 1) * 255)
            elif col.dtype == np.uint16:
                col = col >> 8
            col = col.astype(np.uint8)
            if col.shape[1] == 3:
                col = np.concatenate([col, np.full((len(col), 1), 255, np.uint8)], axis=1)
            mesh.vertex_colors = col
        if "TEXCOORD_0" in attr:
            mesh.uv = np.array(_accessor(gltf, binary, attr["TEXCOORD_0"]), np.float32)
            mesh.texture, mesh.texture_format = _read_texture(gltf, binary, prim, path)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise ReaderError(path, f"unsupported or damaged glTF structure ({exc!r})") from exc
    extras = (gltf.get("scenes") or [{}])[gltf.get("scene", 0)].get("extras") or {}
    mesh.crs = extras.get("crs")
    return mesh


def _read_texture(gltf: dict[str, Any], binary: memoryview, prim: dict[str, Any],
                  path: Path) -> tuple[np.ndarray | None, str | None]:
    try:
        mat = gltf["materials"][prim["material"]]
        tex = gltf["textures"][mat["pbrMetallicRoughness"]["baseColorTexture"]["index"]]
        img = gltf["images"][tex["source"]]
        view = gltf["bufferViews"][img["bufferView"]]
    except (KeyError, IndexError):
        return None, None
    start = view.get("byteOffset", 0)
    data = bytes(binary[start:start + view["byteLength"]])
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = "jpeg" if im.format == "JPEG" else "png"
            return np.asarray(im.convert("RGBA" if im.mode in ("RGBA", "LA", "P") else "RGB")), fmt
    except OSError as exc:
        raise ReaderError(path, f"embedded texture cannot be decoded ({exc})") from exc
