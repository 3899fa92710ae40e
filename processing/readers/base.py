"""Checks and format detection shared by every reader."""

from __future__ import annotations

import os
from pathlib import Path

from processing.errors import ReaderError

POINT_EXTENSIONS = {".las": "las", ".laz": "las", ".e57": "e57", ".xyz": "text", ".txt": "text",
                    ".csv": "text", ".pts": "text"}
MESH_EXTENSIONS = {".obj": "obj", ".gltf": "gltf", ".glb": "gltf", ".vtp": "vtk", ".vtk": "vtk",
                   ".stl": "stl"}
BOTH_EXTENSIONS = {".ply": "ply"}        # points or mesh, decided by the header

# Files that sit beside scans but are not scans: say what they are instead of "unsupported".
_COMPANIONS = {
    ".mtl": "a material library; read the .obj file that refers to it",
    ".png": "an image; textures are read together with the mesh that uses them",
    ".jpg": "an image; textures are read together with the mesh that uses them",
    ".jpeg": "an image; textures are read together with the mesh that uses them",
    ".tif": "an image; textures are read together with the mesh that uses them",
    ".wdp": "LAS waveform data; read the .las/.laz file it belongs to",
    ".md": "a text document, not a scan",
    ".json": "a JSON document, not a scan (glTF files end in .gltf)",
}

SUPPORTED = ", ".join(sorted({*POINT_EXTENSIONS, *MESH_EXTENSIONS, *BOTH_EXTENSIONS}))


def check_file(path: str | os.PathLike) -> Path:
    """The path as a Path, or a ReaderError when it is missing, not a file, or empty."""
    p = Path(path)
    if not p.exists():
        raise ReaderError(p, "file not found; check the source path in the manifest")
    if not p.is_file():
        raise ReaderError(p, "is not a regular file (a folder?); name one scan file per source")
    if p.stat().st_size == 0:
        raise ReaderError(p, "file is empty (0 bytes); copy it again from the original delivery")
    return p


def extension(path: Path) -> str:
    return path.suffix.lower()


def sniff(path: Path) -> str | None:
    """Format kind from the first bytes, or None when the content has no known signature."""
    with open(path, "rb") as f:
        head = f.read(64)
    if head.startswith(b"LASF"):
        return "las"
    if head.startswith(b"ASTM-E57"):
        return "e57"
    if head[:4] in (b"ply\n", b"ply\r"):
        return "ply"
    if head.startswith(b"glTF"):
        return "gltf"
    if head.startswith(b"# vtk DataFile"):
        return "vtk"
    if head.lstrip().startswith(b"<?xml") or head.lstrip().startswith(b"<VTKFile"):
        return "vtk" if b"VTKFile" in head or extension(path) in (".vtp", ".vtu") else None
    return None


def kind_of(path: Path) -> str:
    """Reader kind for a file: the content signature where one exists, else the extension."""
    ext = extension(path)
    by_ext = {**POINT_EXTENSIONS, **MESH_EXTENSIONS, **BOTH_EXTENSIONS}.get(ext)
    by_content = sniff(path)
    if by_content is not None:
        return by_content
    if by_ext in ("las", "e57", "ply") or ext == ".glb":
        # These formats always start with a signature: the file is damaged or misnamed.
        sig = {"las": "'LASF'", "e57": "'ASTM-E57'", "ply": "'ply'"}.get(by_ext, "'glTF'")
        raise ReaderError(path, f"is not a valid {ext} file: it does not start with {sig}; the "
                                "file is damaged or has the wrong extension — copy it again or "
                                "re-export it")
    if by_ext is not None:
        return by_ext
    if ext in _COMPANIONS:
        raise ReaderError(path, f"is {_COMPANIONS[ext]}")
    raise ReaderError(path, f"unsupported file type {ext or '(no extension)'!r}; stadtzeit reads "
                            f"{SUPPORTED} — convert the scan to LAZ or PLY")
