"""GLB writing/reading: our round trip, and VTK's and trimesh's readers on the same files."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import pyvista as pv
import trimesh

from processing.errors import ProcessingError, ReaderError
from processing.gltf import read_glb, read_glb_extras, write_glb
from processing.meshclean import vertex_normals
from processing.types import Mesh


def coloured_mesh(n: int = 60) -> Mesh:
    x, y = np.meshgrid(np.linspace(-50, 50, n), np.linspace(-30, 30, n), indexing="ij")
    v = np.c_[x.ravel(), y.ravel(), (np.sin(x / 9) * np.cos(y / 7)).ravel() + 40.0]
    i = np.arange(n - 1)
    a = (i[:, None] * n + i[None, :]).ravel()
    f = np.r_[np.c_[a, a + n, a + 1], np.c_[a + 1, a + n, a + n + 1]].astype(np.int32)
    rng = np.random.default_rng(0)
    col = rng.integers(0, 256, (len(v), 4), dtype=np.uint8)
    col[:, 3] = 255
    return Mesh(vertices=v, faces=f, frame="site", vertex_colors=col,
                normals=vertex_normals(v, f), crs="EPSG:25832+7837")


def vtk_leaf(path) -> pv.PolyData:
    data = pv.read(path)
    while isinstance(data, pv.MultiBlock):
        data = data[0]
    return data


def glb_json(path) -> dict:
    raw = path.read_bytes()
    length, _ = struct.unpack_from("<II", raw, 12)
    return json.loads(raw[20:20 + length])


def test_round_trip_and_other_readers(tmp_path):
    mesh = coloured_mesh()
    extras = {"origin": np.array([350123.25, 5704321.5, 40.0]), "crs": "EPSG:25832+7837",
              "site": "gasometer"}
    path = write_glb(mesh, tmp_path / "lod0.glb", extras=extras)

    back = read_glb(path)
    assert back.vertices.dtype == np.float32
    np.testing.assert_array_equal(back.vertices, mesh.vertices.astype(np.float32))
    np.testing.assert_array_equal(back.faces, mesh.faces)
    np.testing.assert_array_equal(back.vertex_colors, mesh.vertex_colors)
    np.testing.assert_allclose(back.normals, mesh.normals, atol=1e-6)
    assert back.crs == "EPSG:25832+7837" and back.frame == "site"
    assert read_glb_extras(path)["origin"] == [350123.25, 5704321.5, 40.0]

    doc = glb_json(path)
    assert doc["asset"]["version"] == "2.0" and doc["asset"]["generator"].startswith("stadtzeit")
    prim = doc["meshes"][0]["primitives"][0]
    pos = doc["accessors"][prim["attributes"]["POSITION"]]
    assert pos["componentType"] == 5126
    np.testing.assert_allclose(pos["min"], mesh.vertices.min(axis=0), rtol=1e-6)
    np.testing.assert_allclose(pos["max"], mesh.vertices.max(axis=0), rtol=1e-6)
    color = doc["accessors"][prim["attributes"]["COLOR_0"]]
    assert color["componentType"] == 5121 and color["normalized"] and color["type"] == "VEC4"
    assert doc["accessors"][prim["indices"]]["componentType"] == 5125

    # VTK's glTF reader (what the viewer uses)
    leaf = vtk_leaf(path)
    assert leaf.n_points == len(mesh.vertices) and leaf.n_cells == mesh.n_faces
    np.testing.assert_allclose(np.asarray(leaf.points), mesh.vertices, atol=1e-4)
    vtk_col = np.asarray(leaf.point_data["COLOR_0"])
    if vtk_col.dtype != np.uint8:                       # VTK may hand out normalised floats
        vtk_col = np.rint(vtk_col * 255).astype(np.uint8)
    np.testing.assert_array_equal(vtk_col[:, :3], mesh.vertex_colors[:, :3])

    # trimesh
    scene = trimesh.load(path, process=False)
    geom = next(iter(scene.geometry.values()))
    assert len(geom.vertices) == len(mesh.vertices) and len(geom.faces) == mesh.n_faces
    tm_col = geom.visual.vertex_attributes["color"]
    np.testing.assert_array_equal(np.asarray(tm_col)[:, :3], mesh.vertex_colors[:, :3])
    assert scene.metadata["site"] == "gasometer"


def test_textured_round_trip(tmp_path):
    mesh = coloured_mesh(30)
    mesh.vertex_colors = None
    mesh.uv = ((mesh.vertices[:, :2] - [-50, -30]) / [100, 60]).astype(np.float32)
    tex = np.zeros((64, 128, 3), np.uint8)
    tex[:, :64, 0] = 255
    tex[:, 64:, 2] = 200
    mesh.texture = tex
    path = write_glb(mesh, tmp_path / "tex.glb")
    back = read_glb(path)
    np.testing.assert_array_equal(back.texture, tex)        # PNG: lossless
    np.testing.assert_array_equal(back.uv, mesh.uv)
    assert back.vertex_colors is None

    leaf = vtk_leaf(path)
    assert leaf.n_points == len(mesh.vertices)
    geom = next(iter(trimesh.load(path, process=False).geometry.values()))
    img = geom.visual.material.baseColorTexture
    assert img.size == (128, 64)
    np.testing.assert_allclose(geom.visual.uv[:, 1], 1.0 - mesh.uv[:, 1], atol=1e-6)

    jpg = write_glb(mesh, tmp_path / "tex_jpeg.glb", image_format="jpeg")
    assert glb_json(jpg)["images"][0]["mimeType"] == "image/jpeg"
    assert np.abs(read_glb(jpg).texture.astype(int) - tex).mean() < 3


def test_refuses_crs_coordinates_and_bad_input(tmp_path):
    mesh = coloured_mesh(5)
    mesh.vertices = mesh.vertices + [350000.0, 5700000.0, 0.0]
    with pytest.raises(ProcessingError, match="not site-local"):
        write_glb(mesh, tmp_path / "bad.glb")
    assert not (tmp_path / "bad.glb").exists()
    empty = Mesh(vertices=np.zeros((3, 3)), faces=np.zeros((0, 3), np.int32))
    with pytest.raises(ProcessingError, match="non-empty"):
        write_glb(empty, tmp_path / "empty.glb")
    (tmp_path / "junk.glb").write_bytes(b"not a glb at all, really")
    with pytest.raises(ReaderError, match="junk.glb"):
        read_glb(tmp_path / "junk.glb")


def test_normals_are_computed_when_missing(tmp_path):
    mesh = coloured_mesh(10)
    mesh.normals = None
    back = read_glb(write_glb(mesh, tmp_path / "n.glb"))
    assert back.normals.shape == (100, 3)
    assert np.all(back.normals[:, 2] > 0.5)
