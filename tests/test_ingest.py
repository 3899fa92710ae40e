"""Ingest end to end: real LAZ/OBJ sources -> a real OCFL archive, and back."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import laspy
import numpy as np
import pytest
from conftest import copy_archive

from archive import Archive
from processing.errors import ProcessingError, RegistrationError
from processing.ingest import ingest

EPOCHS = ["2019-06-15", "2021-09-01", "2024-05-20"]


def tree_snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Relative path -> (size, sha256) of every file under root."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = (p.stat().st_size,
                                                   hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def test_demo_ingest_products_and_provenance(demo_site):
    sources, archive, report = demo_site
    assert [e.status for e in report.epochs] == ["ingested"] * 3
    assert [e.version for e in report.epochs] == [1, 2, 3]
    head = archive.read("gasometer-demo")
    for epoch in EPOCHS:
        base = f"epochs/{epoch}"
        for product in ("points.laz", "mesh/lod0.glb", "mesh/lod1.glb", "mesh/lod2.glb",
                        "epoch.json"):
            assert head.exists(f"{base}/{product}"), f"{base}/{product} missing"
        prov = head.read_json(f"{base}/epoch.json")
        assert prov["inputs"] and all(len(i["sha512"]) == 128 for i in prov["inputs"])
        kinds = {e["type"] for e in prov["events"]}
        assert {"fixity", "format validation", "registration", "ingestion"} <= kinds
        assert "open3d" in prov["software"] and prov["preset"]["name"]
        assert set(prov["timings_s"]) >= {"read", "clean", "register", "lod", "write"}
        faces = prov["statistics"]["faces"]
        assert len(faces) == 3 and faces[0] > faces[1] > faces[2] > 0
        # LOD targets: ~25 % and ~5 % of the full mesh
        assert 0.15 < faces[1] / faces[0] < 0.35 and faces[2] / faces[0] < 0.1
        T = np.asarray(prov["registration"]["transform"])
        assert T.shape == (4, 4)
    # originals stored bit-exact in the restricted object, the OBJ's MTL and texture with it
    originals = Archive.open(archive.root, include_restricted=True).read(
        "gasometer-demo--restricted")
    assert not any("/source/" in p for p in head.files)
    for epoch, files in sources.sources.items():
        for f in files:
            stored = originals.path(f"epochs/{epoch}/source/{Path(f).name}")
            assert stored.read_bytes() == Path(f).read_bytes()
    photo = originals.listdir("epochs/2024-05-20/source")
    assert any(p.endswith(".mtl") for p in photo) and any(p.endswith(".jpg") for p in photo)
    assert head.read_json("site.json")["id"] == "gasometer-demo"
    assert head.path("site.toml").read_bytes() == Path(sources.manifest_path).read_bytes()


def test_demo_archive_is_valid_under_ocfl_validate(demo_site):
    _, archive, _ = demo_site
    exe = Path(sys.executable).with_name("ocfl-validate.py")
    out = subprocess.run([sys.executable, str(exe), str(archive.object_path("gasometer-demo"))],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "is VALID" in out.stdout + out.stderr


def test_products_are_georeferenced_in_site_crs(demo_site):
    sources, archive, _ = demo_site
    head = archive.read("gasometer-demo")
    las = laspy.read(head.path("epochs/2019-06-15/points.laz"))
    assert las.header.scales[0] == pytest.approx(0.001)
    assert las.header.parse_crs() is not None
    e, n = float(np.median(las.x)), float(np.median(las.y))
    # real CRS coordinates near the Gasometer, not site-local ones
    assert abs(e - sources.origin[0]) < 250 and abs(n - sources.origin[1]) < 250


def test_reingest_is_unchanged_and_writes_nothing(demo_site, tmp_path):
    sources, archive, _ = demo_site
    work = copy_archive(archive, tmp_path / "a")
    before = tree_snapshot(work.root / "ocfl")
    report = ingest(sources.manifest_path, work, user="pytest")
    assert report.unchanged
    assert [e.status for e in report.epochs] == ["unchanged"] * 3
    assert tree_snapshot(work.root / "ocfl") == before


def test_changed_preset_adds_version_and_old_products_stay(demo_site, tmp_path):
    sources, archive, _ = demo_site
    work = copy_archive(archive, tmp_path / "a")
    manifest = Path(sources.manifest_path)
    text = manifest.read_text(encoding="utf-8")
    photo = 'preset = "photogrammetry"'
    assert photo in text
    # keep relative source paths valid: write the edited manifest next to the original
    edited = manifest.with_name("edited-" + manifest.name)
    edited.write_text(text.replace(
        photo, photo + "\noverrides = { lod_fractions = [1.0, 0.3, 0.1] }"), encoding="utf-8")
    try:
        report = ingest(edited, work, user="pytest")
    finally:
        edited.unlink()
    by_epoch = {e.epoch: e for e in report.epochs}
    assert by_epoch["2024-05-20"].status == "ingested"
    assert by_epoch["2019-06-15"].status == "unchanged"
    new_head = work.read("gasometer-demo")
    assert new_head.number == 4
    old = work.read("gasometer-demo@v3")
    new_faces = new_head.read_json("epochs/2024-05-20/epoch.json")["statistics"]["faces"]
    old_faces = old.read_json("epochs/2024-05-20/epoch.json")["statistics"]["faces"]
    assert new_faces[1] > old_faces[1]
    assert old.path("epochs/2024-05-20/mesh/lod1.glb").is_file()


# --- small hand-made sites -------------------------------------------------------------------

ORIGIN = (350000.0, 5708000.0, 40.0)


def write_grid_laz(path: Path, shift=(0.0, 0.0, 0.0), with_crs=True, special=None,
                   noise: float = 0.0) -> None:
    """A 60 x 60 m terrain with a 6 m box-shaped building, points every 0.5 m."""
    g = np.arange(-30.0, 30.0, 0.5)
    x, y = np.meshgrid(g, g)
    x, y = x.ravel(), y.ravel()
    z = 0.02 * x + 0.01 * y + np.where((np.abs(x - 15) < 8) & (np.abs(y) < 5), 6.0, 0.0)
    # walls of the building (as a terrestrial or oblique scan sees them): without surfaces
    # facing east and north, point-to-plane ICP could slide along the ground
    h = np.arange(0.25, 6.0, 0.5)
    wx, wh = np.meshgrid(np.arange(7.0, 23.0, 0.5), h)
    wy, wh2 = np.meshgrid(np.arange(-5.0, 5.0, 0.5), h)
    walls = np.vstack([
        np.column_stack([wx.ravel(), np.full(wx.size, s), 0.02 * wx.ravel() + 0.01 * s
                         + wh.ravel()]) for s in (-5.0, 5.0)] + [
        np.column_stack([np.full(wy.size, s), wy.ravel(), 0.02 * s + 0.01 * wy.ravel()
                         + wh2.ravel()]) for s in (7.0, 23.0)])
    xyz = np.vstack([np.column_stack([x, y, z]), walls]) + np.asarray(shift) + np.asarray(ORIGIN)
    if noise:
        xyz = xyz + np.random.default_rng(1).normal(0.0, noise, xyz.shape)
    if special is not None:
        xyz = np.vstack([xyz, special])
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.scales = [0.001] * 3
    header.offsets = [350000.0, 5708000.0, 0.0]
    if with_crs:
        import pyproj
        header.add_crs(pyproj.CRS("EPSG:25832"))
    las = laspy.LasData(header)
    las.x, las.y, las.z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    las.classification = np.full(len(xyz), 2, np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    las.write(path)


def write_manifest(folder: Path, epochs: list[tuple[str, str, str]], extra: str = "") -> Path:
    """epochs: (id, source path relative to folder, extra TOML lines for the epoch)."""
    lines = [
        'id = "testsite"', 'crs = "EPSG:25832"', f"origin = {list(ORIGIN)}",
        'licence = "CC0-1.0"', 'attribution = "test"', extra,
        "[name]", 'de = "Testort"', 'en = "Test site"',
        "[description]", 'de = "Ein Test."', 'en = "A test."',
        "[location]", "lat = 51.5", "lon = 6.8",
    ]
    for eid, src, more in epochs:
        lines += ["[[epochs]]", f'id = "{eid}"', 'capture = "airborne-lidar"',
                  'sensor = "synthetic"', 'operator = "pytest"', more,
                  "[[epochs.sources]]", f'path = "{src}"']
    path = folder / "site.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_point_survives_ingest_within_a_millimetre(tmp_path):
    # on the terrain surface, so cleaning keeps it
    special = np.array([[350000.123, 5708000.456, 40.0 + 0.02 * 0.123 + 0.01 * 0.456]])
    write_grid_laz(tmp_path / "a.laz", special=special)
    manifest = write_manifest(tmp_path, [("2020-01-01", "a.laz", "")])
    archive = Archive.init(tmp_path / "arch", durable=False)
    ingest(manifest, archive, user="pytest")
    las = laspy.read(archive.read("testsite").path("epochs/2020-01-01/points.laz"))
    xyz = np.column_stack([las.x, las.y, las.z])
    d = np.linalg.norm(xyz - special, axis=1)
    assert d.min() < 0.001, f"closest point is {d.min() * 1000:.3f} mm away"


def test_registration_recovers_a_shift(tmp_path):
    write_grid_laz(tmp_path / "a.laz")
    write_grid_laz(tmp_path / "b.laz", shift=(0.05, -0.03, 0.02))
    manifest = write_manifest(tmp_path, [("2020-01-01", "a.laz", ""),
                                         ("2021-01-01", "b.laz", 'registration = "icp"')])
    archive = Archive.init(tmp_path / "arch", durable=False)
    ingest(manifest, archive, user="pytest")
    reg = archive.read("testsite").read_json("epochs/2021-01-01/epoch.json")["registration"]
    t = np.asarray(reg["transform"])[:3, 3]
    np.testing.assert_allclose(t, [-0.05, 0.03, -0.02], atol=0.01)


def test_registration_over_limit_is_refused_unless_forced(tmp_path):
    write_grid_laz(tmp_path / "a.laz")
    # shifted (so the fit is applied) with 1 cm noise: RMSE ~1 cm > 1 mm limit
    write_grid_laz(tmp_path / "b.laz", noise=0.01, shift=(0.1, 0.0, 0.05))
    manifest = write_manifest(tmp_path, [
        ("2020-01-01", "a.laz", 'overrides = { icp_rmse_limit = 0.001 }'),
        ("2021-01-01", "b.laz", 'registration = "icp"\noverrides = { icp_rmse_limit = 0.001 }')])
    archive = Archive.init(tmp_path / "arch", durable=False)
    with pytest.raises(RegistrationError) as err:
        ingest(manifest, archive, user="pytest")
    assert "RMSE" in str(err.value) and "--force" in str(err.value)
    assert [v.number for v in archive.log("testsite")] == [1]  # the reference epoch only
    report = ingest(manifest, archive, user="pytest", force=True)
    assert report.epochs[-1].status == "ingested"
    events = archive.read("testsite").read_json("epochs/2021-01-01/epoch.json")["events"]
    assert any(e["type"] == "registration" and e["outcome"] == "warning" for e in events)


def test_failed_epoch_leaves_archive_byte_for_byte(tmp_path):
    write_grid_laz(tmp_path / "a.laz")
    (tmp_path / "b.laz").write_bytes(b"LASF" + bytes(range(256)) * 8)  # broken LAS
    manifest = write_manifest(tmp_path, [("2020-01-01", "a.laz", "")])
    archive = Archive.init(tmp_path / "arch", durable=False)
    ingest(manifest, archive, user="pytest")
    before = tree_snapshot(archive.root / "ocfl")
    manifest = write_manifest(tmp_path, [("2020-01-01", "a.laz", ""),
                                         ("2021-01-01", "b.laz", "")])
    with pytest.raises(ProcessingError) as err:
        ingest(manifest, archive, user="pytest")
    assert "b.laz" in str(err.value)
    assert tree_snapshot(archive.root / "ocfl") == before


def test_source_without_crs_is_refused_with_what_to_do(tmp_path):
    write_grid_laz(tmp_path / "a.laz", with_crs=False)
    manifest = write_manifest(tmp_path, [("2020-01-01", "a.laz", "")])
    archive = Archive.init(tmp_path / "arch", durable=False)
    with pytest.raises(ProcessingError) as err:
        ingest(manifest, archive, user="pytest")
    assert "a.laz" in str(err.value) and "crs" in str(err.value)
    assert archive.site_ids() == []


def test_cli_ingest_exit_codes(tmp_path):
    write_grid_laz(tmp_path / "a.laz")
    manifest = write_manifest(tmp_path, [("2020-01-01", "a.laz", "")])
    exe = Path(sys.executable).with_name("stadtzeit")
    arch = tmp_path / "arch"
    ok = subprocess.run([str(exe), "ingest", str(manifest), "--archive", str(arch), "--init"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "2020-01-01" in ok.stdout and "ingested" in ok.stdout
    again = subprocess.run([str(exe), "ingest", str(manifest), "--archive", str(arch)],
                           capture_output=True, text=True)
    assert again.returncode == 0 and "unchanged" in again.stdout
    (tmp_path / "a.laz").write_bytes(b"")
    bad = subprocess.run([str(exe), "ingest", str(manifest), "--archive", str(arch)],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert "a.laz" in bad.stderr and "Traceback" not in bad.stderr
    info = json.loads(subprocess.run(
        [str(exe), "manifest", "show", str(manifest)], capture_output=True, text=True).stdout)
    assert info["id"] == "testsite"
