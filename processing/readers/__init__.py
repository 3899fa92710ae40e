"""Source readers: scans and meshes in, PointCloud / Mesh out, or a ReaderError that says why.

- ``read_points(path, crs=None) -> PointCloud``: LAS/LAZ/COPC, E57, XYZ/TXT/CSV/PTS, PLY points.
- ``read_mesh(path, crs=None) -> Mesh``: PLY, OBJ (+MTL, textures), glTF/GLB, VTP/VTK, STL.
- ``read_source(path, crs=None) -> PointCloud | Mesh``: either, decided by the content.

``crs`` is the manifest's CRS for the source; the file's own CRS wins when it has one (see
``processing.readers.crs.resolve_crs``). Everything is returned in frame "crs".
"""

from __future__ import annotations

import os
from pathlib import Path

from processing.errors import ReaderError
from processing.readers.base import check_file, kind_of
from processing.types import Mesh, PointCloud

_POINT_KINDS = {"las", "e57", "text"}
_MESH_KINDS = {"obj", "gltf", "vtk", "stl"}


def _ply_is_mesh(path: Path) -> bool:
    from processing.readers.meshes import ply_header
    return ply_header(path).n_faces > 0


def read_points(path: str | os.PathLike, crs: str | None = None) -> PointCloud:
    """Read a point-cloud file; a mesh file is refused (use read_mesh or read_source)."""
    p = check_file(path)
    kind = kind_of(p)
    if kind == "las":
        from processing.readers.las import read_las
        return read_las(p, crs)
    if kind == "e57":
        from processing.readers.e57 import read_e57
        return read_e57(p, crs)
    if kind == "text":
        from processing.readers.text import read_text_points
        return read_text_points(p, crs)
    if kind == "ply" and not _ply_is_mesh(p):
        from processing.readers.meshes import read_ply_points
        return read_ply_points(p, crs)
    if kind == "vtk":
        from processing.readers.meshes import read_vtk
        data = read_vtk(p, crs)
        if isinstance(data, PointCloud):
            return data
    raise ReaderError(p, "holds a mesh (triangles), not a point cloud; read it with "
                         "read_mesh/read_source")


def read_mesh(path: str | os.PathLike, crs: str | None = None) -> Mesh:
    """Read a triangle mesh; a file with points only is refused (use read_points)."""
    p = check_file(path)
    kind = kind_of(p)
    from processing.readers import meshes
    if kind == "ply":
        return meshes.read_trimesh(p, crs)
    if kind in ("obj", "gltf", "stl"):
        return meshes.read_trimesh(p, crs)
    if kind == "vtk":
        data = meshes.read_vtk(p, crs)
        if isinstance(data, Mesh):
            return data
    raise ReaderError(p, "holds points, not a mesh (no triangles); read it with "
                         "read_points/read_source")


def read_source(path: str | os.PathLike, crs: str | None = None) -> PointCloud | Mesh:
    """Read any supported source: a PointCloud for scans, a Mesh for files with faces."""
    p = check_file(path)
    kind = kind_of(p)
    if kind in _POINT_KINDS:
        return read_points(p, crs)
    if kind == "ply":
        return read_mesh(p, crs) if _ply_is_mesh(p) else read_points(p, crs)
    if kind == "vtk":
        from processing.readers.meshes import read_vtk
        return read_vtk(p, crs)
    if kind in _MESH_KINDS:
        return read_mesh(p, crs)
    raise ReaderError(p, f"no reader for {kind} files")  # unreachable: kind_of refuses first


__all__ = ["read_mesh", "read_points", "read_source"]
