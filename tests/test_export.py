"""Educator exports (issue 12), made from the demo site and read back by independent tools:
Pillow (PNG size, iTXt/XMP), PyAV (codec, frames, duration), trimesh and laspy (models), the
Khronos glTF validator (npm), headless Chromium (the lesson page offline, the worksheet PDF)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import copy_archive

from assets_manifest.errors import StadtzeitError

ROOT = Path(__file__).resolve().parents[1]
SITE = "gasometer-demo"


def tree_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under `root` with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def archive(demo_site, tmp_path_factory):
    """A copy of the demo archive with the change first → last stored (DEM difference)."""
    from processing.compare import compare
    from processing.compare_params import CompareParams

    _, demo, _ = demo_site
    arch = copy_archive(demo, tmp_path_factory.mktemp("export") / "archive")
    epochs = [e for e in arch.read(SITE).read_json("site.json")["epochs"]]
    first, last = epochs[0]["id"], epochs[-1]["id"]
    compare(arch, SITE, first, last, method="dod", params=CompareParams(cell_size=1.0))
    return arch


@pytest.fixture(scope="module")
def source(archive):
    from viewer.export.source import ExportSource

    return ExportSource(archive.root, SITE)


def relicensed(archive, tmp_path: Path, **fields) -> Path:
    """A copy of the archive whose site.json has other licence/attribution fields."""
    arch = copy_archive(archive, tmp_path / "relicensed")
    doc = arch.read(SITE).read_json("site.json")
    for k, v in fields.items():
        if v is None:
            doc.pop(k, None)
        else:
            doc[k] = v
    with arch.writer(SITE, message="test: licence", user="pytest") as w:
        w.add_bytes("site.json", json.dumps(doc).encode())
    return arch.root


# --------------------------------------------------------------------------- stills

def test_still_carries_its_provenance_in_png_text_and_xmp(source, archive, tmp_path):
    from PIL import Image

    from viewer.export.still import export_still

    before = tree_state(archive.root)
    out = tmp_path / "still.png"
    export_still(source, out, (320, 180), burn_caption=True)
    assert tree_state(archive.root) == before, "exporting changed the archive"
    with Image.open(out) as im:
        assert im.size == (320, 180)
        text = im.text
        xmp = im.info["XML:com.adobe.xmp"]
    assert text["Licence"] == "CC0-1.0"
    assert text["Attribution"] == "stadtzeit demo data (synthetic)"
    assert text["Site"] == SITE and text["CRS"] == "EPSG:25832+7837"
    assert text["ArchiveVersion"] == f"{SITE}@v{archive.read(SITE).number}"
    assert text["Epochs"] == source.site.epoch_ids[-1]
    assert "<dc:rights>" in xmp and "CC0-1.0" in xmp and "sz:ArchiveVersion" in xmp
    assert [p.name for p in tmp_path.iterdir()] == ["still.png"]


def test_still_shows_the_model_and_transparency_leaves_the_sky_out(source, tmp_path):
    from PIL import Image

    from viewer.export.still import export_still

    export_still(source, tmp_path / "t.png", (240, 160), transparent=True, preset="top")
    with Image.open(tmp_path / "t.png") as im:
        assert im.mode == "RGBA"
        a = np.asarray(im)[..., 3]
    assert a[0, 0] == 0 and a[-1, -1] == 0            # corners: background, see-through
    assert (a == 255).mean() > 0.2                    # the site covers a good part
    export_still(source, tmp_path / "o.png", (240, 160), preset="top")
    with Image.open(tmp_path / "o.png") as im:
        rgb = np.asarray(im.convert("RGB")).astype(int)
    assert rgb.std(axis=(0, 1)).max() > 10            # not one flat colour


def test_epochs_render_differently_from_one_camera(source):
    from viewer.render.offscreen import OffscreenRenderer

    cam = source.camera(preset="top")
    with OffscreenRenderer((160, 120), antialias=None) as r:
        images = []
        for e in source.site.epoch_ids:
            r.set_scene(source.scene(e))
            images.append(r.render(cam).astype(int))
    assert all(np.abs(images[0] - im).mean() > 0.5 for im in images[1:])


@pytest.mark.parametrize("size, words", [
    ("0x0", "too small"), ("100000x100000", "larger than 8K"), ("8000x100", "larger than 8K"),
    ("big", "WIDTHxHEIGHT")])
def test_bad_sizes_are_refused_and_nothing_is_written(archive, tmp_path, capsys, size, words):
    from viewer.cli import main

    rc = main(["export", SITE, "still", "--size", size, "--out", str(tmp_path / "s.png"),
               "--archive", str(archive.root)])
    assert rc == 1
    assert words in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unknown_epoch_and_unwritable_out_are_clear_errors(archive, tmp_path, capsys):
    from viewer.cli import main

    a = ["--archive", str(archive.root)]
    assert main(["export", SITE, "still", "--epoch", "1999-01-01", "--out",
                 str(tmp_path / "s.png"), *a]) == 1
    err = capsys.readouterr().err
    assert "no epoch '1999-01-01'" in err and "2024-05-20" in err
    assert main(["export", SITE, "still", "--out", str(tmp_path / "nope" / "s.png"), *a]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", SITE, "still", "--size", "64x64", "--out", "/proc/s.png", *a]) == 1
    assert "cannot write /proc/s.png" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_restricted_site_is_refused(archive, tmp_path):
    from viewer.export.source import ExportError, ExportSource

    with pytest.raises(ExportError, match="restricted part of a site.*'gasometer-demo'"):
        ExportSource(archive.root, f"{SITE}--restricted")


def test_site_without_licence_is_not_exported(archive, tmp_path):
    from viewer.export.source import ExportSource

    root = relicensed(archive, tmp_path, licence=None)
    with pytest.raises(StadtzeitError, match="licence"):
        ExportSource(root, SITE)


def test_licence_forbidding_derivatives_is_stated_everywhere(archive, tmp_path):
    from PIL import Image

    from viewer.export.source import ExportSource, Licence
    from viewer.export.still import export_still

    assert Licence.of("CC-BY-NC-ND-4.0", "x").no_derivatives
    assert Licence.of("CC-BY-NC-4.0", "x").non_commercial
    assert not Licence.of("CC-BY-4.0", "x").restricted
    root = relicensed(archive, tmp_path, licence="CC-BY-NC-ND-4.0")
    src = ExportSource(root, SITE)
    export_still(src, tmp_path / "nd.png", (200, 120), burn_caption=True)
    with Image.open(tmp_path / "nd.png") as im:
        warning = im.text["LicenceWarning"]
    assert "no commercial use" in warning and "no derivatives" in warning
    assert im.text["ArchiveVersion"].endswith(f"@v{src.version.number}")


# --------------------------------------------------------------------------- before / after

def test_before_after_pair_swipe_and_change_map(source, tmp_path):
    from PIL import Image

    from viewer.export.before_after import export_before_after

    ids = source.site.epoch_ids
    r = export_before_after(source, tmp_path / "ba", ids[0], ids[-1], size=(240, 180))
    assert set(r.files) == {"pair", "swipe", "change"} and not r.note
    with Image.open(r.files["pair"]) as im:
        assert im.size == (480, 180) and im.text["Epochs"] == f"{ids[0]}, {ids[-1]}"
    with Image.open(r.files["swipe"]) as im:
        assert im.size == (240, 180)
    with Image.open(r.files["change"]) as im:
        assert im.width == 240 and im.height > 180   # legend and captions below the map
        assert "percentile" in im.text["ColourScale"]
    # an existing folder with files in it is never overwritten
    from viewer.export.source import ExportError

    with pytest.raises(ExportError, match="not an empty folder"):
        export_before_after(source, tmp_path / "ba", ids[0], ids[-1], size=(64, 48))
    assert (tmp_path / "ba" / "before-after-pair.png").is_file()
    # a pair with no stored change: pictures, and a note saying how to get the map
    r2 = export_before_after(source, tmp_path / "ba2", ids[0], ids[1], size=(200, 150))
    assert "change" not in r2.files and "stadtzeit compare" in r2.note


def test_top_view_scale_bar_is_true_to_scale(source):
    """The change map's orthographic top view: a known length spans the stated pixels."""
    from viewer.export.before_after import top_view

    bounds = (-100.0, 100.0, -50.0, 50.0, 0.0, 10.0)
    cam, half = top_view(bounds, (400, 200))
    assert half == pytest.approx(52.0)                # 100 m tall fits 200 px, 4 % margin
    assert cam.view_up == (0.0, 1.0, 0.0)             # north up


# --------------------------------------------------------------------------- video

def test_turntable_mp4_read_back_by_pyav(source, tmp_path):
    import av

    from viewer.export.video import export_turntable

    r = export_turntable(source, tmp_path / "t.mp4", size=(160, 96), fps=10, seconds=1.5)
    with av.open(str(r.path)) as c:
        st = c.streams.video[0]
        frames = sum(1 for _ in c.decode(video=0))
        assert st.codec_context.name == "h264"
        assert (st.width, st.height) == (160, 96)
        assert "CC0-1.0" in c.metadata.get("copyright", "")
        duration = float(st.duration * st.time_base)
    assert frames == 15
    assert duration == pytest.approx(1.5, abs=0.11)


def test_epoch_transition_gif_and_mp4(source, tmp_path):
    import av
    from PIL import Image

    from viewer.export.video import export_transition

    n = len(source.site.epoch_ids)
    r = export_transition(source, tmp_path / "e.mp4", size=(128, 72), fps=10, hold=0.5,
                          fade=0.3, antialias=None)
    with av.open(str(r.path)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 5 * n + 3 * (n - 1)
    g = export_transition(source, tmp_path / "e.gif", size=(128, 72), fps=10, hold=0.5,
                          fade=0.3, antialias=None)
    with Image.open(g.path) as im:
        assert im.is_animated and im.size == (128, 72)
        total = 0
        for i in range(im.n_frames):
            im.seek(i)
            total += im.info["duration"]
    assert total == pytest.approx(1000 * (5 * n + 3 * (n - 1)) / 10, abs=50)


# --------------------------------------------------------------------------- models

def test_glb_is_y_up_with_licence_and_valid(source, tmp_path):
    import trimesh

    from viewer.export.model import export_glb
    from viewer.model.scene import glb_json

    out = tmp_path / "m.glb"
    export_glb(source, out)
    doc = glb_json(out)
    assert "CC0-1.0" in doc["asset"]["copyright"]
    assert doc["asset"]["extras"]["archiveVersion"] == source.ref
    scene = trimesh.load(out)
    mesh = source.mesh(source.site.epoch_ids[-1], 0)
    x0, x1, y0, y1, z0, z1 = mesh.bounds
    lo, hi = scene.bounds
    assert hi[1] - lo[1] == pytest.approx(z1 - z0, rel=1e-4)    # heights run along +Y
    assert hi[2] - lo[2] == pytest.approx(y1 - y0, rel=1e-4)
    assert -lo[2] == pytest.approx(y1, rel=1e-4)                # north is -Z
    validator = ROOT / "js" / "node_modules" / "gltf-validator"
    if not validator.is_dir() or shutil.which("node") is None:
        pytest.skip("gltf-validator not installed (run `npm ci` in js/, as .ci/setup does)")
    res = subprocess.run(["node", str(ROOT / "js" / "validate-gltf.mjs"), str(out)],
                         capture_output=True, text=True, check=True, timeout=120)
    report = json.loads(res.stdout)          # one summary line per file
    assert report["errors"] == 0, report["messages"]


def test_obj_ply_laz_keep_licence_and_crs(source, tmp_path):
    import laspy
    import trimesh

    from viewer.export.model import export_laz, export_obj, export_ply

    textured = source.site.epoch_ids[-1]          # the photogrammetry epoch has a texture
    r = export_obj(source, tmp_path / "m.obj", textured, lod=2)
    assert {p.suffix for p in r.files} >= {".obj", ".mtl", ".png"}
    assert "# Licence: CC0-1.0" in (tmp_path / "m.obj").read_text()[:2000]
    assert "# Licence: CC0-1.0" in (tmp_path / "m.mtl").read_text()
    tm = trimesh.load(tmp_path / "m.obj", force="mesh")
    assert len(tm.faces) == source.mesh(textured, 2).n_faces
    assert tm.visual.kind == "texture"

    epoch = source.site.epoch_ids[0]

    export_laz(source, tmp_path / "p.laz", epoch)
    las = laspy.read(tmp_path / "p.laz")
    vlr = next(v for v in las.vlrs if v.user_id == "stadtzeit")
    assert json.loads(vlr.record_data)["licence"] == "CC0-1.0"
    ox, oy, _ = source.site.origin
    assert abs(float(np.median(las.x)) - ox) < 250 and abs(float(np.median(las.y)) - oy) < 250

    export_ply(source, tmp_path / "p.ply", epoch)
    raw = (tmp_path / "p.ply").read_bytes()
    head, _, body = raw.partition(b"end_header\n")
    assert b"comment Licence: CC0-1.0" in head and b"comment CRS: EPSG:25832+7837" in head
    props = [line.split()[2] for line in head.decode().splitlines()
             if line.startswith("property")]
    dtype = {"x": "<f8", "y": "<f8", "z": "<f8", "red": "u1", "green": "u1", "blue": "u1",
             "intensity": "<u2"}
    pts = np.frombuffer(body, dtype=[(p, dtype[p]) for p in props])
    assert len(pts) == len(las.points)
    assert np.allclose(pts["x"], np.asarray(las.x)) and np.allclose(pts["y"], np.asarray(las.y))


def test_stl_is_a_closed_solid_at_the_stated_scale(source, tmp_path):
    import trimesh

    from viewer.export.print3d import export_print

    r = export_print(source, tmp_path / "p.stl", scale=2500, max_size_mm=200)
    tm = trimesh.load(r.path)
    assert tm.is_watertight and tm.is_winding_consistent and tm.volume > 0
    mesh = source.mesh(source.site.epoch_ids[-1], 0)
    x0, x1, y0, y1, z0, z1 = mesh.bounds
    ext = tm.extents
    assert ext[0] == pytest.approx((x1 - x0) * 1000 / 2500, abs=2 * r.cell_mm)
    assert ext[1] == pytest.approx((y1 - y0) * 1000 / 2500, abs=2 * r.cell_mm)
    assert ext[2] == pytest.approx(r.size_mm[2]) and ext[2] > r.base_mm
    assert tm.volume == pytest.approx(r.volume_mm3, rel=1e-6)
    assert "mm" in r.describe() and "1:2500" in r.describe()
    assert b"CC0-1.0" in r.path.read_bytes()[:80]
    assert "Licence: CC0-1.0" in (tmp_path / "p-LICENCE.txt").read_text()


def test_print_refuses_clearly_when_it_cannot_be_printed(source, tmp_path):
    from viewer.export.print3d import export_print
    from viewer.export.source import ExportError

    with pytest.raises(ExportError, match=r"prints 800 × 800 mm.*choose --scale 1:"):
        export_print(source, tmp_path / "p.stl", scale=500)
    with pytest.raises(ExportError, match="too small"):
        export_print(source, tmp_path / "p.stl", scale=200000)
    assert list(tmp_path.iterdir()) == []


def test_3mf_package_has_the_licence(source, tmp_path):
    import trimesh

    from viewer.export.print3d import export_print

    r = export_print(source, tmp_path / "p.3mf", scale=5000)
    with zipfile.ZipFile(r.path) as z:
        model = z.read("3D/3dmodel.model").decode()
    assert 'unit="millimeter"' in model and "CC0-1.0" in model
    import xml.etree.ElementTree as ET

    ns = {"m": "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"}
    root = ET.fromstring(model)
    v = np.array([[float(e.get(k)) for k in "xyz"]
                  for e in root.iterfind(".//m:vertex", ns)])
    f = np.array([[int(e.get(k)) for k in ("v1", "v2", "v3")]
                  for e in root.iterfind(".//m:triangle", ns)])
    tm = trimesh.Trimesh(v, f)
    assert tm.is_watertight and tm.volume == pytest.approx(r.volume_mm3, rel=1e-3)


# --------------------------------------------------------------------------- lesson pack

def chromium_or_skip() -> str:
    from viewer.export.lesson import chromium

    exe = chromium()
    if exe is None:
        pytest.skip("Chromium not installed (apt chromium, as .ci/setup installs)")
    return exe


OFFLINE = ["--headless", "--no-sandbox", "--use-angle=swiftshader",
           "--enable-unsafe-swiftshader", "--proxy-server=127.0.0.1:9",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=10000"]


@pytest.mark.slow
def test_lesson_pack_works_offline_in_a_browser(source, archive, tmp_path):
    from PIL import Image

    from viewer.export.lesson import LessonOptions, export_lesson

    before = tree_state(archive.root)
    out = tmp_path / "lesson"
    r = export_lesson(source, out, LessonOptions(
        still_size=(320, 180), pair_size=(240, 180), video_size=(160, 96), fps=5,
        seconds=1.0, points=False, print_scale=5000))  # print and points: tested above
    assert tree_state(archive.root) == before
    ids = source.site.epoch_ids
    for rel in ["index.html", "worksheet.html", "LICENCE.txt", "ATTRIBUTION.txt",
                "vendor/model-viewer.min.js", "before-after/before-after-change.png",
                "video/turntable.mp4", "video/epochs.mp4", *(f"stills/{e}.png" for e in ids),
                *(f"models/{e}.glb" for e in ids)]:
        assert rel in r.files, rel
    assert f"models/{ids[-1]}-1to5000.stl" in r.files
    tasl = (out / "LICENCE.txt").read_text()
    for key in ("Title:", "Author:", "Source:", "Licence:"):
        assert key in tasl
    with zipfile.ZipFile(r.zip) as z:
        assert sorted(z.namelist()) == sorted(f"lesson/{f}" for f in r.files)
    page = (out / "index.html").read_text()
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    assert "Was sich verändert hat" in page and "What changed" in page and "m³" in page

    exe = chromium_or_skip()
    shot = tmp_path / "page.png"
    res = subprocess.run([exe, *OFFLINE, "--enable-logging=stderr", "--v=0",
                          "--window-size=1000,700", f"--screenshot={shot}",
                          (out / "index.html").as_uri()],
                         capture_output=True, text=True, timeout=180, cwd=tmp_path)
    console = [line for line in res.stderr.splitlines() if "CONSOLE" in line]
    assert not [c for c in console if "rror" in c or "Uncaught" in c], console
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    # the <model-viewer> area: a vertical gradient unless a model is drawn on it
    area = img[200:600, 150:850]
    off = np.abs(area - np.median(area, axis=1, keepdims=True)).max(axis=2)
    assert (off > 40).mean() > 0.02, "no model visible in the page's 3D view"

    pdf = out / "worksheet.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000
    sheet = (out / "worksheet.html").read_text()
    assert "@page" in sheet and "Questions" in sheet and "Licence: CC0-1.0" in sheet


def test_lesson_refuses_a_file_name(source, tmp_path):
    from viewer.export.lesson import export_lesson
    from viewer.export.source import ExportError

    with pytest.raises(ExportError, match="a folder"):
        export_lesson(source, tmp_path / "x.zip")
    assert list(tmp_path.iterdir()) == []


def test_cancelled_export_leaves_nothing(source, tmp_path):
    from viewer.export.video import export_turntable
    from viewer.model.scene import Cancelled

    def cancel(fraction: float, _what: str) -> None:
        if fraction > 0.3:
            raise Cancelled

    with pytest.raises(Cancelled):
        export_turntable(source, tmp_path / "t.mp4", size=(64, 48), fps=10, seconds=1,
                         progress=cancel)
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------- print solids, known truth

def _scene(parts):
    """Flat 100 × 100 m ground at z = 0 with the given trimesh solids on it."""
    import trimesh

    from viewer.model.scene import MeshData

    ground = trimesh.Trimesh([[-50, -50, 0], [50, -50, 0], [50, 50, 0], [-50, 50, 0]],
                             [[0, 1, 2], [0, 2, 3]])
    m = trimesh.util.concatenate([ground, *parts])
    return MeshData(np.asarray(m.vertices, np.float32), np.asarray(m.faces, np.int64))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("shape", ["box", "cylinder"])
def test_print_solid_volume_and_size_match_the_known_shape(seed, shape):
    import trimesh

    from viewer.export.print3d import build_print_model

    rng = np.random.default_rng(seed)
    w, d, h = rng.uniform(8, 25, 3)
    if shape == "box":
        part = trimesh.creation.box((w, d, h))
        true_volume = w * d * h
    else:
        part = trimesh.creation.cylinder(radius=w / 2, height=h, sections=64)
        true_volume = np.pi * (w / 2) ** 2 * h
    part.apply_translation([*rng.uniform(-20, 20, 2), h / 2])
    scale, base = 500, 2.0
    vertices, faces, rep = build_print_model(_scene([part]), scale, base_mm=base)
    solid = trimesh.Trimesh(vertices, faces)
    assert solid.is_watertight and solid.is_winding_consistent
    k = 1000 / scale                                   # mm per metre at this scale
    expected = 100 * k * 100 * k * base + true_volume * k ** 3
    assert solid.volume == pytest.approx(expected, rel=0.03)
    assert rep["size_mm"][2] == pytest.approx(base + h * k, abs=0.05)
    assert rep["size_mm"][0] == pytest.approx(100 * k, abs=2 * rep["cell_mm"])


def test_print_refuses_walls_thinner_than_the_printer_makes():
    import trimesh

    from viewer.export.print3d import build_print_model
    from viewer.export.source import ExportError

    wall = trimesh.creation.box((30, 0.3, 10))         # 0.3 m: 0.3 mm at 1:1000
    wall.apply_translation([0, 0, 5])
    with pytest.raises(ExportError, match="thinner than the minimum wall of 0.8 mm"):
        build_print_model(_scene([wall]), 1000)
    for metres in (1.0, 3.0):                          # 1 mm and 3 mm at 1:1000: printable
        thick = trimesh.creation.box((30, metres, 10))
        thick.apply_translation([0, 0, 5])
        _, _, rep = build_print_model(_scene([thick]), 1000)
        assert rep["thin_share"] < 0.02
