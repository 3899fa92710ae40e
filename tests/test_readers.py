"""Readers on every shared real file, on files written here, and on damaged inputs."""

from __future__ import annotations

import logging
import os
import shutil
import struct
from pathlib import Path

import laspy
import numpy as np
import pytest
from pyproj import CRS

from processing.errors import ReaderError
from processing.readers import read_mesh, read_points, read_source
from processing.types import Mesh, PointCloud

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NO_DATA = f"shared test data not found at {DATA} (see ../shared/data/README.md)"

# shared/data/README.md: points per LiDAR file.
LIDAR_COUNTS = {
    "1.2-with-color.las": 1065, "1_4_w_evlr.las": 1000, "1_4_w_evlr.laz": 1000,
    "4_6_crop.las": 23875, "autzen-point-format-3.las": 106, "autzen-thin-srs.las": 10653,
    "autzen_geo_proj.las": 106, "autzen_trim.las": 110000, "autzen_trim.laz": 110000,
    "autzen_trim_7.las": 110000, "epsg_4326.las": 5380, "extra.laz": 1065,
    "file_with_both_wkt_and_geotiff_vlrs.las": 25408, "fullwave.laz": 10750,
    "interesting.las": 1065, "las_with_several_extra_byte_bloc.laz": 697721,
    "lone-star.copc.laz": 518862, "mvk-thin.las": 6280, "plane.laz": 28185,
    "sample_c.las": 14408, "simple.copc.laz": 1065, "simple1_1.las": 1065, "simple1_3.las": 999,
    "simple1_4.las": 22600, "test1_4.las": 1000, "thin-1.las": 5327, "thin-2.las": 5326,
    "vegetation_1_3.las": 10683, "warsaw_small.las": 3000,
}
# shared/data/README.md: EPSG code in the header.
LIDAR_EPSG = {
    "4_6_crop.las": 2903, "autzen-point-format-3.las": 2994, "autzen_geo_proj.las": 2994,
    "epsg_4326.las": 4326, "file_with_both_wkt_and_geotiff_vlrs.las": 6880, "fullwave.laz": 32723,
    "las_with_several_extra_byte_bloc.laz": 2154, "lone-star.copc.laz": 4978,
    "mvk-thin.las": 26995, "simple1_4.las": 4326,
}
E57_COUNTS = {"bunnyDouble.e57": 30571, "bunnyInt32.e57": 30571, "ColouredCubeFloat.e57": 7680,
              "ColourRepresentation.e57": 153}
MESH_FACES = {"bunny.ply": 16301, "lucy.ply": 99970, "fuze.obj": 1000, "fuze.ply": 1000,
              "fran_cut.vtk": 4224, "Angel_decimated.vtp": 35804,
              "birdBath_decimated.vtp": 35079}
# Files beside the scans that are not scans: refused, with the file named.
REFUSED = {"PROVENANCE.txt", "PROVENANCE-laspy.txt", "PROVENANCE-pdal.txt",
           "PROVENANCE-ggg-sfm.txt", "PROVENANCE-trimesh.txt", "PROVENANCE-vtkdata.txt",
           "README-ggg-sfm.md", "fran_cut.png", "fuze uv.jpg", "fuze.obj.mtl"}


def shared(sub: str, name: str) -> Path:
    path = DATA / sub / name
    if not path.exists():
        pytest.skip(NO_DATA)
    return path


def shared_files() -> list:
    folders = [DATA / sub for sub in ("lidar", "mesh", "e57")]
    if not all(f.is_dir() for f in folders):
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_DATA), id="no-data")]
    return [pytest.param(p, id=f"{p.parent.name}/{p.name}")
            for f in folders for p in sorted(f.iterdir()) if p.is_file()]


def epsg_of(crs: str | None) -> int | None:
    """The EPSG code of a CRS string, of its horizontal part for a compound CRS."""
    if crs is None:
        return None
    c = CRS.from_user_input(crs)
    if c.is_compound:
        c = c.sub_crs_list[0]
    return c.to_epsg()


@pytest.mark.parametrize("path", shared_files())
def test_every_shared_file_reads_or_is_refused(path: Path) -> None:
    name = path.name
    if name in REFUSED:
        with pytest.raises(ReaderError) as err:
            read_source(path)
        assert name in str(err.value)
        return
    data = read_source(path)
    if name in LIDAR_COUNTS:
        assert isinstance(data, PointCloud)
        assert len(data) == LIDAR_COUNTS[name]
    elif name in E57_COUNTS:
        assert isinstance(data, PointCloud)
        assert len(data) == E57_COUNTS[name]
    elif name in MESH_FACES:
        assert isinstance(data, Mesh)
        assert data.n_faces == MESH_FACES[name]
        assert data.faces.max() < len(data.vertices)
    else:
        pytest.fail(f"{name} is new in shared/data: add it to the tables of this test")
    if isinstance(data, PointCloud):
        assert data.xyz.dtype == np.float64 and data.xyz.shape == (len(data), 3)
        assert np.isfinite(data.xyz).all()
        assert data.frame == "crs"
        for values in [data.rgb, data.intensity, data.classification, *data.extra.values()]:
            assert values is None or len(values) == len(data)
    else:
        assert data.vertices.dtype == np.float64


@pytest.mark.parametrize("name,code", sorted(LIDAR_EPSG.items()))
def test_crs_from_header(name: str, code: int) -> None:
    cloud = read_points(shared("lidar", name))
    assert epsg_of(cloud.crs) == code


def test_broken_wkt_gives_no_crs_then_the_manifest_crs(caplog) -> None:
    path = shared("lidar", "warsaw_small.las")
    with caplog.at_level(logging.WARNING):
        assert read_points(path).crs is None
    assert "WKT" in caplog.text and "warsaw_small.las" in caplog.text
    assert read_points(path, crs="EPSG:2180").crs == "EPSG:2180"


def test_file_crs_wins_over_the_manifest_with_a_warning(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        cloud = read_points(shared("lidar", "mvk-thin.las"), crs="EPSG:25832+7837")
    assert cloud.crs == "EPSG:26995"
    assert "manifest" in caplog.text and "mvk-thin.las" in caplog.text


def test_geotiff_vertical_key_gives_compound_crs(tmp_path: Path) -> None:
    las = laspy.create(point_format=3, file_version="1.2")
    las.x, las.y, las.z = [350000.0], [5708000.0], [40.0]
    keys = laspy.vlrs.known.GeoKeyDirectoryVlr()
    keys.geo_keys_header.number_of_keys = 3
    for key_id, value in ((1024, 1), (3072, 25832), (4096, 7837)):
        entry = laspy.vlrs.geotiff.GeoKeyEntryStruct()
        entry.id, entry.tiff_tag_location, entry.count, entry.value_offset = key_id, 0, 1, value
        keys.geo_keys.append(entry)
    las.header.vlrs.append(keys)
    las.write(tmp_path / "compound.las")
    assert read_points(tmp_path / "compound.las").crs == "EPSG:25832+7837"


def test_manifest_compound_crs_adds_the_vertical_datum(tmp_path: Path) -> None:
    las = laspy.create(point_format=6, file_version="1.4")
    las.x, las.y, las.z = [350000.0], [5708000.0], [40.0]
    las.header.add_crs(CRS.from_epsg(25832))
    las.write(tmp_path / "utm.laz", laz_backend=laspy.LazBackend.Lazrs)
    assert read_points(tmp_path / "utm.laz").crs == "EPSG:25832"
    assert read_points(tmp_path / "utm.laz", crs="EPSG:25832+7837").crs == "EPSG:25832+7837"


def test_fullwave_points_read_and_waveforms_reported(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        cloud = read_points(shared("lidar", "fullwave.laz"))
    assert len(cloud) == 10750
    assert "waveform" in caplog.text and "fullwave.laz" in caplog.text


def test_laz_and_las_give_the_same_points() -> None:
    a = read_points(shared("lidar", "autzen_trim.las"))
    b = read_points(shared("lidar", "autzen_trim.laz"))
    np.testing.assert_array_equal(a.xyz, b.xyz)
    np.testing.assert_array_equal(a.rgb, b.rgb)
    np.testing.assert_array_equal(a.classification, b.classification)


def test_attributes_and_extra_bytes() -> None:
    cloud = read_points(shared("lidar", "las_with_several_extra_byte_bloc.laz"))
    assert {"Deviation", "ExtraBytes", "nir", "gps_time"} <= set(cloud.extra)
    assert cloud.rgb is not None and cloud.rgb.dtype == np.uint16
    extra = read_points(shared("lidar", "extra.laz")).extra
    assert extra["Colors"].shape == (1065, 3)
    classes = read_points(shared("lidar", "file_with_both_wkt_and_geotiff_vlrs.las"))
    assert set(np.unique(classes.classification)) == {2, 3, 4, 5, 6, 7}
    # Scale and offset applied once in float64: same as laspy's own scaled coordinates.
    raw = laspy.read(shared("lidar", "simple1_4.las"))
    np.testing.assert_array_equal(read_points(raw_path := shared("lidar", "simple1_4.las")).xyz,
                                  np.column_stack([raw.x, raw.y, raw.z]))
    assert raw_path.exists()


def test_e57_colours_8_and_16_bit() -> None:
    cube = read_points(shared("e57", "ColouredCubeFloat.e57"))
    assert cube.rgb.max() == 65535 and cube.rgb.min() == 0       # 255 -> 65535
    assert np.all(cube.rgb % 257 == 0)
    rep = read_points(shared("e57", "ColourRepresentation.e57"))
    assert rep.rgb.max() == 65280                                # 16-bit values kept as they are
    assert {"returnIndex", "returnCount", "las_pointSourceId"} <= set(rep.extra)


def test_e57_scans_are_moved_by_their_poses(tmp_path: Path) -> None:
    import pye57

    rng = np.random.default_rng(3)
    local = [rng.random((50, 3)), rng.random((70, 3))]
    half = np.sqrt(0.5)
    poses = [(np.array([1.0, 0, 0, 0]), np.array([10.0, 20.0, 30.0])),
             (np.array([half, 0, 0, half]), np.array([-5.0, 2.0, 1.0]))]   # 90° about z
    path = tmp_path / "two_scans.e57"
    with pye57.E57(str(path), mode="w") as e57:
        for pts, (q, t) in zip(local, poses, strict=True):
            e57.write_scan_raw({"cartesianX": pts[:, 0], "cartesianY": pts[:, 1],
                                "cartesianZ": pts[:, 2],
                                "intensity": np.linspace(0, 1, len(pts)).astype(np.float32)},
                               rotation=q, translation=t)
    cloud = read_points(path)
    assert len(cloud) == 120
    np.testing.assert_allclose(cloud.xyz[:50], local[0] + [10, 20, 30], atol=1e-12)
    rotated = np.column_stack([-local[1][:, 1], local[1][:, 0], local[1][:, 2]])
    np.testing.assert_allclose(cloud.xyz[50:], rotated + [-5, 2, 1], atol=1e-12)
    assert cloud.intensity[0] == 0 and cloud.intensity[49] == 65535


def test_obj_texture_with_space_in_its_name() -> None:
    path = shared("mesh", "fuze.obj")
    mesh = read_mesh(path)
    assert mesh.texture is not None and mesh.texture.shape == (1024, 1024, 3)
    assert mesh.texture.dtype == np.uint8
    assert mesh.uv is not None and mesh.uv.shape == (len(mesh.vertices), 2)
    # glTF convention: v flipped against the file's OpenGL-style 'vt' values.
    vt = np.array([line.split()[1:3] for line in path.read_text().splitlines()
                   if line.startswith("vt ")], float)
    file_uv = np.column_stack([vt[:, 0], 1 - vt[:, 1]])
    gap = np.abs(mesh.uv[:, None, :] - file_uv[None, :, :]).max(axis=2).min(axis=1)
    assert gap.max() < 1e-6                           # every uv is a file uv, v flipped


def test_vtk_texture_beside_the_file() -> None:
    mesh = read_mesh(shared("mesh", "fran_cut.vtk"))
    assert mesh.uv is not None and mesh.texture is not None
    assert mesh.texture.shape[:2] == (256, 256)


def test_glb_and_vertex_coloured_ply(tmp_path: Path) -> None:
    import trimesh
    from PIL import Image

    box = trimesh.creation.box()
    colours = np.tile(np.array([[255, 0, 0, 255]], np.uint8), (len(box.vertices), 1))
    colours[0] = [0, 0, 255, 128]
    box.visual.vertex_colors = colours
    box.export(tmp_path / "box.ply")
    mesh = read_source(tmp_path / "box.ply")
    assert isinstance(mesh, Mesh) and mesh.n_faces == 12
    np.testing.assert_array_equal(mesh.vertex_colors, colours)

    plane = trimesh.Trimesh(vertices=[[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]],
                            faces=[[0, 1, 2], [0, 2, 3]], process=False)
    image = Image.fromarray(np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3))
    uv_gl = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)          # trimesh: v up
    plane.visual = trimesh.visual.TextureVisuals(uv=uv_gl, image=image)
    plane.export(tmp_path / "plane.glb")
    mesh = read_source(tmp_path / "plane.glb")
    assert isinstance(mesh, Mesh) and mesh.n_faces == 2
    assert mesh.texture is not None and mesh.texture.shape[:2] == (4, 4)
    np.testing.assert_allclose(mesh.uv[:, 1], 1 - uv_gl[:, 1])         # glTF: v down


def test_ply_points_binary_and_ascii(tmp_path: Path) -> None:
    xyz = np.array([[350000.123, 5708000.456, 40.789], [1.0, 2.0, 3.0]])
    rec = np.zeros(2, [("x", "<f8"), ("y", "<f8"), ("z", "<f8"), ("red", "u1"),
                       ("green", "u1"), ("blue", "u1"), ("scalar_dist", "<f4")])
    rec["x"], rec["y"], rec["z"] = xyz.T
    rec["red"], rec["scalar_dist"] = [255, 1], [0.5, -0.5]
    header = (b"ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty double x\n"
              b"property double y\nproperty double z\nproperty uchar red\nproperty uchar green\n"
              b"property uchar blue\nproperty float scalar_dist\nend_header\n")
    (tmp_path / "pts.ply").write_bytes(header + rec.tobytes())
    cloud = read_source(tmp_path / "pts.ply")
    assert isinstance(cloud, PointCloud)
    np.testing.assert_array_equal(cloud.xyz, xyz)
    assert cloud.rgb[0, 0] == 65535 and cloud.extra["scalar_dist"][1] == -0.5

    text = "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n" \
           "property float z\nelement face 0\nproperty list uchar int vertex_indices\n" \
           "end_header\n1 2 3\n4 5 6\n"
    (tmp_path / "ascii.ply").write_text(text)
    cloud = read_source(tmp_path / "ascii.ply")
    np.testing.assert_array_equal(cloud.xyz, [[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ReaderError, match="ascii.ply"):
        read_mesh(tmp_path / "ascii.ply")
    (tmp_path / "short.ply").write_bytes(header + rec.tobytes()[:30])
    with pytest.raises(ReaderError, match="short.ply.*truncated"):
        read_points(tmp_path / "short.ply")


def test_text_points(tmp_path: Path) -> None:
    (tmp_path / "a.xyz").write_text("350000.123 5708000.456 40.789\n1 2 3\n")
    cloud = read_points(tmp_path / "a.xyz", crs="EPSG:25832")
    np.testing.assert_array_equal(cloud.xyz[0], [350000.123, 5708000.456, 40.789])
    assert cloud.crs == "EPSG:25832"
    (tmp_path / "b.pts").write_text("2\n1 2 3 -2048 255 0 0\n4 5 6 2047 0 128 255\n")
    cloud = read_points(tmp_path / "b.pts")
    assert cloud.intensity.tolist() == [0, 65520]
    assert cloud.rgb.tolist() == [[65535, 0, 0], [0, 128 * 257, 65535]]
    (tmp_path / "c.csv").write_text("x,y,z,intensity\n1,2,3,0.5\n4,5,6,1.0\n")
    cloud = read_points(tmp_path / "c.csv")
    assert cloud.intensity.tolist() == [32768, 65535]
    (tmp_path / "d.pts").write_text("5\n1 2 3\n")
    with pytest.raises(ReaderError, match="d.pts.*announces 5"):
        read_points(tmp_path / "d.pts")
    (tmp_path / "e.xyz").write_text("1 2 3\n4 5\n")
    with pytest.raises(ReaderError, match="e.xyz"):
        read_points(tmp_path / "e.xyz")


def test_mesh_and_points_are_not_confused() -> None:
    with pytest.raises(ReaderError, match="bunny.ply.*read_mesh"):
        read_points(shared("mesh", "bunny.ply"))
    with pytest.raises(ReaderError, match="simple.copc.laz"):
        read_mesh(shared("lidar", "simple.copc.laz"))


# --- damaged and unsupported inputs -------------------------------------------------------

def _refused(path: Path, *words: str) -> None:
    with pytest.raises(ReaderError) as err:
        read_source(path)
    message = str(err.value)
    assert path.name in message
    for word in words:
        assert word in message, message


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.laz").write_bytes(b"")
    _refused(tmp_path / "empty.laz", "empty")


def test_missing_file(tmp_path: Path) -> None:
    _refused(tmp_path / "nowhere.las", "not found")


def test_truncated_laz(tmp_path: Path) -> None:
    src = shared("lidar", "autzen_trim.laz")
    data = src.read_bytes()
    (tmp_path / "half.laz").write_bytes(data[: len(data) // 2])
    _refused(tmp_path / "half.laz", "truncated")
    (tmp_path / "stub.laz").write_bytes(data[:100])
    _refused(tmp_path / "stub.laz", "truncated")


def test_truncated_las(tmp_path: Path) -> None:
    data = shared("lidar", "autzen_trim.las").read_bytes()
    (tmp_path / "half.las").write_bytes(data[: len(data) // 2])
    _refused(tmp_path / "half.las", "truncated")


def test_header_lies_about_point_count(tmp_path: Path) -> None:
    src = shared("lidar", "autzen_trim.las")
    for factor, word in ((2, "holds only"), (0.5, "header is wrong")):
        data = bytearray(src.read_bytes())
        count = struct.unpack_from("<I", data, 107)[0]           # LAS 1.2 point count
        struct.pack_into("<I", data, 107, int(count * factor))
        path = tmp_path / f"lying_{factor}.las"
        path.write_bytes(bytes(data))
        _refused(path, word)


def test_laz_header_lies_about_point_count(tmp_path: Path) -> None:
    for delta in (70_000, -70_000):                  # the chunk table tells the truth
        path = tmp_path / f"lying{delta}.laz"
        shutil.copy(shared("lidar", "autzen_trim.laz"), path)
        os.chmod(path, 0o644)
        with open(path, "r+b") as f:
            f.seek(107)
            count = struct.unpack("<I", f.read(4))[0]
            f.seek(107)
            f.write(struct.pack("<I", count + delta))
        _refused(path, "header announces")


def test_random_bytes_with_las_extension(tmp_path: Path) -> None:
    path = tmp_path / "noise.las"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    _refused(path, "LASF")


def test_random_bytes_with_e57_extension(tmp_path: Path) -> None:
    path = tmp_path / "noise.e57"
    path.write_bytes(b"ASTM-E57" + np.random.default_rng(1).bytes(4096))
    _refused(path, "E57")


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "scan.fls"
    path.write_bytes(b"\x00\x01proprietary")
    _refused(path, "unsupported", "LAZ")


def test_damaged_vlr_count_is_refused_quickly(tmp_path):
    """Garbage after the signature once made laspy walk ~1.6e9 VLRs (minutes, gigabytes)."""
    bad = tmp_path / "garbage.laz"
    bad.write_bytes(b"LASF" + bytes(range(256)) * 8)
    with pytest.raises(ReaderError, match="garbage.laz.*header is damaged"):
        read_points(bad)
