"""3D models for other software: GLB (+Y up, licence inside), OBJ+MTL, and points (PLY, LAZ)
in the site's CRS for GIS lessons. Printable solids are in `print3d`.

The GLB is the archive's own file, unchanged in its geometry and textures: only its JSON gets
a root node turning the site frame (z up) into glTF's +Y up, and the licence (`asset.copyright`,
`extras`). Points are written with real CRS coordinates (float64), never the site frame.
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from viewer.export.files import atomic_file
from viewer.export.source import ExportError, ExportSource, Provenance
from viewer.export.still import Progress, no_progress
from viewer.model.scene import ProductError, glb_json

FORMATS = (".glb", ".obj", ".ply", ".laz", ".stl", ".3mf")
# z up (site frame) -> y up (glTF): a rotation of -90° about x, (x, y, z) -> (x, z, -y)
Z_UP_TO_Y_UP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], float)
_QUAT_Z_TO_Y = [-0.7071067811865476, 0.0, 0.0, 0.7071067811865476]   # x, y, z, w


@dataclass
class ModelFile:
    path: Path
    files: list[Path]
    note: str = ""


def licence_extras(prov: Provenance) -> dict[str, Any]:
    d = prov.as_dict()
    return {"licence": d["Licence"], "attribution": d["Attribution"], "site": d["Site"],
            "epochs": list(prov.epochs), "archiveVersion": d["ArchiveVersion"],
            "crs": d["CRS"], "origin": list(prov.site.origin), "software": d["Software"],
            "frame": "glTF +Y up; site frame = (x, -z, y) of this file, in metres from "
                     "'origin' in 'crs'"} | (
        {"licenceWarning": d["LicenceWarning"]} if "LicenceWarning" in d else {})


# --------------------------------------------------------------------------- GLB

def _read_glb(path: Path) -> tuple[dict[str, Any], bytes]:
    doc = glb_json(path)   # checks the container with clear messages
    data = Path(path).read_bytes()
    json_len = struct.unpack_from("<I", data, 12)[0]
    rest = data[20 + json_len:]
    if len(rest) < 8:
        return doc, b""
    bin_len, bin_type = struct.unpack_from("<II", rest, 0)
    if bin_type != 0x004E4942:
        raise ProductError(path, "damaged GLB: the second chunk is not BIN")
    return doc, rest[8:8 + bin_len]


def write_glb(doc: dict[str, Any], binary: bytes, dest: Path) -> None:
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    binary = binary + b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + (8 + len(binary) if binary else 0)
    with open(dest, "wb") as f:
        f.write(struct.pack("<4sII", b"glTF", 2, total))
        f.write(struct.pack("<II", len(text), 0x4E4F534A) + text)
        if binary:
            f.write(struct.pack("<II", len(binary), 0x004E4942) + binary)


def y_up_glb(doc: dict[str, Any], prov: Provenance) -> dict[str, Any]:
    """The archive GLB's JSON with a +Y-up root node and the licence in asset and extras."""
    doc = json.loads(json.dumps(doc))
    extras = licence_extras(prov)
    scene_index = doc.get("scene", 0)
    scene = doc["scenes"][scene_index]
    nodes = doc.setdefault("nodes", [])
    nodes.append({"name": "site (z up -> glTF y up)", "rotation": _QUAT_Z_TO_Y,
                  "children": list(scene.get("nodes", []))})
    scene["nodes"] = [len(nodes) - 1]
    scene.setdefault("extras", {}).update(extras)
    asset = doc.setdefault("asset", {"version": "2.0"})
    asset["copyright"] = f"{prov.licence.attribution} — {prov.licence.licence}"
    asset["generator"] = f"{prov.software} (export)"
    asset["extras"] = extras
    return doc


def export_glb(source: ExportSource, out: Path, epoch: str | None = None, lod: int = 0,
               progress: Progress = no_progress) -> ModelFile:
    epoch = source.epoch(epoch)
    info = source.site.epoch(epoch)
    if lod not in info.lods:
        raise ExportError(f"{source.site.id}: epoch {epoch} has no LOD {lod} mesh (it has "
                          f"{', '.join(str(k) for k in info.lods) or 'none'})")
    progress(0.2, "reading the mesh")
    doc, binary = _read_glb(source.version.files[info.lods[lod]])
    with atomic_file(Path(out)) as tmp:
        write_glb(y_up_glb(doc, source.provenance(epoch)), binary, tmp)
    progress(1.0, "done")
    return ModelFile(Path(out), [Path(out)])


# --------------------------------------------------------------------------- OBJ + MTL

def export_obj(source: ExportSource, out: Path, epoch: str | None = None, lod: int = 0,
               progress: Progress = no_progress) -> ModelFile:
    """OBJ + MTL (+ the texture as PNG), +Y up like the GLB, licence in comments and a
    LICENCE.txt beside them."""
    import trimesh
    from PIL import Image

    out = Path(out)
    epoch = source.epoch(epoch)
    prov = source.provenance(epoch)
    progress(0.1, "reading the mesh")
    mesh = source.mesh(epoch, lod)
    vertices = mesh.vertices.astype(np.float64)[:, [0, 2, 1]] * [1, 1, -1]   # y up
    if mesh.texture is not None and mesh.uv is not None:
        material = trimesh.visual.material.SimpleMaterial(
            image=Image.fromarray(mesh.texture[..., :3]), name=out.stem)
        visual = trimesh.visual.TextureVisuals(uv=mesh.uv, material=material)
    elif mesh.colors is not None:
        visual = trimesh.visual.ColorVisuals(vertex_colors=mesh.colors)
    else:
        visual = None
    tm = trimesh.Trimesh(vertices, mesh.faces, visual=visual, process=False)
    header = "".join(f"# {k}: {v}\n" for k, v in prov.as_dict().items())
    header += ("# Frame: +Y up, metres; site frame (x, y, z) = (x, -z, y) of this file, "
               "relative to Origin in CRS\n")
    progress(0.5, "writing")
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.stem}.") as tmpdir:
        tmp = Path(tmpdir)
        files = trimesh.exchange.obj.export_obj(tm, include_texture=True,
                                                mtl_name=f"{out.stem}.mtl", return_texture=True,
                                                header=None)
        text, extra = files if isinstance(files, tuple) else (files, {})
        (tmp / out.name).write_text(header + text, encoding="utf-8")
        for name, data in extra.items():
            if name.endswith(".mtl"):
                data = header.encode() + data
            (tmp / name).write_bytes(data)
        (tmp / f"{out.stem}-LICENCE.txt").write_text(tasl_text(source, [epoch]),
                                                     encoding="utf-8")
        written = sorted(tmp.iterdir(), key=lambda p: p.name == out.name)   # the .obj last
        for p in written:
            shutil.move(p, out.parent / p.name)
    progress(1.0, "done")
    return ModelFile(out, [out.parent / p.name for p in written])


def tasl_text(source: ExportSource, epochs: list[str]) -> str:
    """Title, Author, Source, Licence (TASL), as Creative Commons recommends."""
    s, lic = source.site, source.licence
    lines = [f"Title:   {s.name.get('en')} / {s.name.get('de')} ({', '.join(epochs)})",
             f"Author:  {lic.attribution}",
             f"Source:  stadtzeit archive, {source.ref} (site {s.id}, CRS {s.crs})",
             f"Licence: {lic.licence}"]
    if lic.restricted:
        lines += ["", lic.warning("en"), lic.warning("de")]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- points

def _points(source: ExportSource, epoch: str):
    import laspy

    logical = f"epochs/{epoch}/points.laz"
    if logical not in source.version.files:
        raise ExportError(f"{source.site.id}: epoch {epoch} has no stored points "
                          f"({logical}); export its mesh instead")
    return laspy.read(source.version.files[logical])


def export_laz(source: ExportSource, out: Path, epoch: str | None = None,
               progress: Progress = no_progress) -> ModelFile:
    """The epoch's cleaned points as LAZ, CRS and coordinates as stored, plus the licence as a
    VLR (user id 'stadtzeit') and in the header's generating software."""
    import laspy

    epoch = source.epoch(epoch)
    progress(0.1, "reading points")
    las = _points(source, epoch)
    text = json.dumps(licence_extras(source.provenance(epoch)), ensure_ascii=False)
    las.vlrs.append(laspy.VLR(user_id="stadtzeit", record_id=1,
                              description="licence and attribution",
                              record_data=text.encode("utf-8")))
    las.header.generating_software = "stadtzeit export"[:32]
    progress(0.5, "writing")
    with atomic_file(Path(out)) as tmp:
        las.write(str(tmp), do_compress=True)
    progress(1.0, "done")
    return ModelFile(Path(out), [Path(out)])


def export_ply(source: ExportSource, out: Path, epoch: str | None = None,
               progress: Progress = no_progress) -> ModelFile:
    """Binary PLY points: x, y, z as float64 in the site CRS, colour and intensity when
    stored; licence, attribution and CRS as header comments."""
    epoch = source.epoch(epoch)
    progress(0.1, "reading points")
    las = _points(source, epoch)
    fields = [("x", "<f8"), ("y", "<f8"), ("z", "<f8")]
    dims = set(las.point_format.dimension_names)
    has_rgb = {"red", "green", "blue"} <= dims
    if has_rgb:
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    if "intensity" in dims:
        fields += [("intensity", "<u2")]
    arr = np.empty(len(las.points), dtype=fields)
    arr["x"], arr["y"], arr["z"] = np.asarray(las.x), np.asarray(las.y), np.asarray(las.z)
    if has_rgb:
        rgb = np.stack([np.asarray(las.red), np.asarray(las.green), np.asarray(las.blue)], 1)
        shift = 8 if rgb.max(initial=0) > 255 else 0   # LAS stores 16-bit colour
        for i, c in enumerate(("red", "green", "blue")):
            arr[c] = (rgb[:, i] >> shift).astype(np.uint8)
    if "intensity" in dims:
        arr["intensity"] = np.asarray(las.intensity)
    ply_types = {"<f8": "double", "u1": "uchar", "<u2": "ushort"}
    comments = [f"comment {k}: {v}".replace("\n", " ")
                for k, v in source.provenance(epoch).as_dict().items()]
    header = "\n".join(["ply", "format binary_little_endian 1.0", *comments,
                        f"element vertex {len(arr)}",
                        *(f"property {ply_types[t]} {n}" for n, t in fields),
                        "end_header"]) + "\n"
    progress(0.5, "writing")
    with atomic_file(Path(out)) as tmp:
        with open(tmp, "wb") as f:
            f.write(header.encode("utf-8"))
            f.write(arr.tobytes())
    progress(1.0, "done")
    return ModelFile(Path(out), [Path(out)])
