"""Manifests, messages and hostile input: every refusal names the file and says what to do,
nothing escapes as a traceback, and nothing stored is lost.

Real files throughout: manifests and scans written here, the shared sample meshes and E57
scans, real OCFL archives, the `stadtzeit` command in a child process.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, shared_data
from mesh_site import CRS, ORIGIN, placed_obj, write_manifest

from archive import Archive
from assets_manifest.errors import ManifestError, StadtzeitError
from processing.errors import ReaderError
from processing.ingest import ingest
from processing.presets import presets_markdown
from processing.scratch import PREFIX

EPOCH = "2024-05-02"


def cli(*args, env=None, timeout=120, preexec_fn=None, prefix=()):
    full_env = dict(os.environ, PYTHONPATH=str(ROOT)) | (env or {})
    return subprocess.run([*prefix, sys.executable, "-m", "viewer.cli", *map(str, args)],
                          capture_output=True, text=True, env=full_env, timeout=timeout,
                          preexec_fn=preexec_fn, cwd=ROOT)


def snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def terrain_xyz(path: Path, seed: int = 0, n: int = 3000, swap: bool = False,
                nan_rows: int = 0) -> Path:
    """An airborne-like terrain patch of 30 x 30 m at the site, as E N Z text."""
    rng = np.random.default_rng(seed)
    e = ORIGIN[0] + rng.uniform(-15, 15, n)
    nn = ORIGIN[1] + rng.uniform(-15, 15, n)
    z = ORIGIN[2] + 0.05 * (e - ORIGIN[0]) + rng.normal(0, 0.02, n)
    table = np.c_[nn, e, z] if swap else np.c_[e, nn, z]
    if nan_rows:
        table[-nan_rows:] = np.nan
    np.savetxt(path, table, fmt="%.3f")
    return path


def airborne_manifest(tmp_path: Path, names: list[str], **kw) -> Path:
    return write_manifest(tmp_path / "site.toml", names, capture="airborne-lidar", **kw)


# --- presets: documented from the code, overrides validated -------------------------------

def test_preset_table_in_the_docs_is_generated_from_the_code():
    doc = ROOT / "docs" / "PRESETS.md"
    assert doc.read_text(encoding="utf-8") == presets_markdown(), (
        "docs/PRESETS.md is out of date: regenerate it (command in its first lines)")
    assert "| `voxel_size` | m | 0 | 0.01 | 0.02 |" in presets_markdown()


def test_validate_names_a_misspelt_override_and_the_valid_names(tmp_path):
    terrain_xyz(tmp_path / "a.xyz")
    manifest = airborne_manifest(tmp_path, ["a.xyz"],
                                 overrides="overrides = { voxl_size = 0.1, poisson_depth = 99 }")
    out = cli("manifest", "validate", manifest)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"epochs[0] ({EPOCH}).overrides.voxl_size" in out.stderr
    assert "did you mean 'voxel_size'" in out.stderr and "valid parameters" in out.stderr
    assert f"epochs[0] ({EPOCH}).overrides.poisson_depth" in out.stderr
    assert "must be <= 14" in out.stderr


def test_cleaning_that_removes_most_of_an_epoch_is_a_recorded_warning(tmp_path):
    """The shared 15 cm bunny scan under the TLS preset: the 2 cm voxel keeps a few hundred
    of its 30,571 points, and epoch.json says so as a warning naming voxel_size."""
    e57 = shared_data("e57", "bunnyDouble.e57")
    manifest = write_manifest(tmp_path / "site.toml", [str(e57)], capture="terrestrial-lidar")
    text = manifest.read_text().replace("352165.0, 5706887.0, 37.0", "0.0, 0.0, 0.0")
    text = text.replace("lat = 51.49377\nlon = 6.87039", "lat = 0.0\nlon = -1.48874")
    manifest.write_text(text.replace(CRS, "EPSG:32631"))
    archive = Archive.init(tmp_path / "archive", durable=False)
    ingest(manifest, archive)
    prov = archive.read("texture-test").read_json(f"epochs/{EPOCH}/epoch.json")
    stats = prov["statistics"]["cleaning"]
    assert stats["points_in"] == 30571 and stats["points_out"] < 0.5 * 30571
    warned = [e for e in prov["events"] if e["type"] == "cleaning"]
    assert warned and warned[0]["outcome"] == "warning"
    assert "voxel_size" in warned[0]["detail"] and "30,571" in warned[0]["detail"]


# --- refusals that name the file -----------------------------------------------------------

def _ingest_error(tmp_path, manifest) -> str:
    archive = Archive.init(tmp_path / "archive", durable=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                    # a numpy RuntimeWarning fails
        with pytest.raises(StadtzeitError) as err:
            ingest(manifest, archive)
    assert not archive.exists("texture-test")
    return str(err.value)


def test_nan_coordinates_are_refused_naming_the_file(tmp_path):
    terrain_xyz(tmp_path / "scan.xyz", nan_rows=17)
    msg = _ingest_error(tmp_path, airborne_manifest(tmp_path, ["scan.xyz"]))
    assert "scan.xyz" in msg and "NaN" in msg and "17 of 3,000" in msg


def test_a_ply_of_nan_points_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "empty-values.ply"
    header = (b"ply\nformat binary_little_endian 1.0\nelement vertex 400\nproperty float x\n"
              b"property float y\nproperty float z\nend_header\n")
    path.write_bytes(header + np.full((400, 3), np.nan, "<f4").tobytes())
    msg = _ingest_error(tmp_path, airborne_manifest(tmp_path, ["empty-values.ply"]))
    assert "empty-values.ply" in msg and "NaN" in msg and "400 of 400" in msg


def test_identical_points_are_refused_naming_the_file(tmp_path):
    path = tmp_path / "same.xyz"
    np.savetxt(path, np.tile([ORIGIN[0] + 1, ORIGIN[1] + 2, ORIGIN[2]], (500, 1)), fmt="%.3f")
    msg = _ingest_error(tmp_path, airborne_manifest(tmp_path, ["same.xyz"]))
    assert "same.xyz" in msg and "one position" in msg


def test_swapped_axes_are_refused_naming_the_file(tmp_path):
    terrain_xyz(tmp_path / "swapped.xyz", swap=True)
    msg = _ingest_error(tmp_path, airborne_manifest(tmp_path, ["swapped.xyz"]))
    assert "swapped.xyz" in msg and "far from the site" in msg and "column order" in msg


def test_a_mesh_far_from_the_site_is_named_without_internal_words(tmp_path):
    # fuze in its own local frame (millimetres from 0), declared in the site's UTM CRS
    folder = tmp_path / "src"
    folder.mkdir()
    for name in ("fuze.obj", "fuze.obj.mtl", "fuze uv.jpg"):
        (folder / name).write_bytes(shared_data("mesh", name).read_bytes())
    msg = _ingest_error(tmp_path, write_manifest(tmp_path / "site.toml", ["src/fuze.obj"]))
    assert "fuze.obj" in msg and "far from the site" in msg
    assert "write_glb" not in msg and "site-local" not in msg and "lod0" not in msg


# --- hostile manifests and environments: no tracebacks --------------------------------------

def test_deeply_nested_manifest_is_refused(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 600 + "]" * 600 + "\n")
    assert path.stat().st_size < 1300
    for args in (("manifest", "validate", path), ("ingest", path, "--archive", tmp_path / "a",
                                                  "--init")):
        out = cli(*args)
        assert out.returncode == 1, out.stderr
        assert "Traceback" not in out.stderr
        assert "nested" in out.stderr and "deep.toml" in out.stderr


def test_device_and_fifo_as_manifest_are_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    for path, kind in (("/dev/zero", "device"), (fifo, "FIFO")):
        t0 = time.monotonic()
        out = cli("manifest", "validate", path, timeout=60)
        assert out.returncode == 1 and kind in out.stderr and "Traceback" not in out.stderr
        assert time.monotonic() - t0 < 30
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * (2 << 20) + b"\n")
    out = cli("manifest", "validate", big)
    assert out.returncode == 1 and "KiB" in out.stderr


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)          # EFBIG instead of being killed
    import resource
    resource.setrlimit(resource.RLIMIT_FSIZE, (120_000, 120_000))


def test_full_temporary_folder_during_ingest_is_a_clear_message(tmp_path):
    """A file-size limit makes every write over 120 kB fail like a full disk: lod0.glb (the
    89 kB JPEG and the geometry) cannot be written to the temporary folder."""
    placed_obj(shared_data("mesh", "fuze.obj"), tmp_path / "src")
    manifest = write_manifest(tmp_path / "site.toml", ["src/fuze.obj"])
    Archive.init(tmp_path / "archive", durable=False)
    out = cli("ingest", manifest, "--archive", tmp_path / "archive",
              preexec_fn=_limit_file_size)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr and "TMPDIR" in out.stderr, out.stderr
    assert not Archive.open(tmp_path / "archive").exists("texture-test")


def test_two_identical_ingests_at_once_store_one_version(tmp_path):
    placed_obj(shared_data("mesh", "fuze.obj"), tmp_path / "src")
    manifest = write_manifest(tmp_path / "site.toml", ["src/fuze.obj"])
    archive = Archive.init(tmp_path / "archive", durable=False)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    runs = [subprocess.Popen([sys.executable, "-m", "viewer.cli", "ingest", str(manifest),
                              "--archive", str(archive.root)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outs = [r.communicate(timeout=300) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outs
    assert len(archive.log("texture-test")) == 1
    assert sum("unchanged" in o for o, _ in outs) == 1, outs


def test_read_only_archive_is_refused_before_processing(tmp_path):
    from test_archive import run_without_root_powers

    # a source that would fail if read: the refusal must come from the archive check first
    (tmp_path / "broken.las").write_bytes(b"LASF" + b"\0" * 50)
    manifest = airborne_manifest(tmp_path, ["broken.las"])
    archive = Archive.init(tmp_path / "archive", durable=False)
    before = snapshot(archive.root)
    subprocess.run(["chmod", "-R", "a-w", str(archive.root)], check=True)
    try:
        out = run_without_root_powers(
            "import sys; from viewer.cli import main; sys.exit(main(sys.argv[1:]))",
            "ingest", manifest, "--archive", archive.root)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(archive.root)], check=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "not writable" in out.stderr and "broken.las" not in out.stderr
    assert snapshot(archive.root) == before


def test_scratch_folders_of_killed_ingests_are_removed(tmp_path, monkeypatch):
    import tempfile

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp / f"{PREFIX}{dead.pid}-{EPOCH}-abc123"
    (stale / "mesh").mkdir(parents=True)
    (stale / "mesh" / "lod0.glb").write_bytes(b"x" * 1000)
    alive = tmp / f"{PREFIX}{os.getppid()}-{EPOCH}-def456"   # a running process: kept
    alive.mkdir()
    placed_obj(shared_data("mesh", "fuze.obj"), tmp_path / "src")
    archive = Archive.init(tmp_path / "archive", durable=False)
    ingest(write_manifest(tmp_path / "site.toml", ["src/fuze.obj"]), archive)
    assert not stale.exists() and alive.exists()
    assert sorted(p.name for p in tmp.iterdir()) == [alive.name]   # its own folder is gone


def test_a_four_digit_process_id_is_not_taken_for_an_old_name():
    """Process ids wrap around (pid_max 32768 here): a stopped ingest with pid 3744 names its
    folder 3744-<epoch>-…, which must not be read as an old date-first name (kept 6 h)."""
    import time

    from processing.scratch import LEGACY_AGE, _stale

    def running(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    dead = next(pid for pid in range(1000, 10000) if not running(pid))
    now = time.time()
    assert _stale(f"{dead}-{EPOCH}-abc123", now)                 # fresh, but its process is gone
    assert not _stale(f"{os.getpid()}-{EPOCH}-abc123", now)      # running: kept
    assert not _stale("2024-05-02-abc123", now)                  # an old name, young: kept
    assert _stale("2024-05-02-abc123", now - LEGACY_AGE - 1)     # an old name, old: removed


def test_killed_ingest_leaves_nothing_behind_after_the_next_run(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    placed_obj(shared_data("mesh", "fuze.obj"), tmp_path / "src")
    manifest = write_manifest(tmp_path / "site.toml", ["src/fuze.obj"])
    Archive.init(tmp_path / "archive", durable=False)
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp))
    run = subprocess.Popen([sys.executable, "-m", "viewer.cli", "ingest", str(manifest),
                            "--archive", str(tmp_path / "archive")], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(tmp.glob(PREFIX + "*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    run.kill()
    run.wait()
    assert list(tmp.glob(PREFIX + "*")), "the ingest was killed before it made its folder"
    out = cli("ingest", manifest, "--archive", tmp_path / "archive", env={"TMPDIR": str(tmp)})
    assert out.returncode == 0, out.stderr
    assert not list(tmp.glob(PREFIX + "*"))


# --- the CLI ---------------------------------------------------------------------------------

@pytest.fixture
def fuze_archive(tmp_path):
    placed_obj(shared_data("mesh", "fuze.obj"), tmp_path / "src")
    manifest = write_manifest(tmp_path / "site.toml", ["src/fuze.obj"])
    archive = Archive.init(tmp_path / "archive", durable=False)
    ingest(manifest, archive)
    return archive


def test_archive_option_before_or_after_the_command(fuze_archive, tmp_path):
    for args in (("--archive", fuze_archive.root, "archive", "ls"),
                 ("archive", "ls", "--archive", fuze_archive.root)):
        out = cli(*args, env={"STADTZEIT_ARCHIVE": str(tmp_path / "elsewhere")})
        assert out.returncode == 0, out.stderr
        assert "texture-test" in out.stdout


def test_compare_an_epoch_with_itself_is_refused_without_writing(fuze_archive):
    before = snapshot(fuze_archive.root)
    out = cli("compare", "texture-test", EPOCH, EPOCH, "--method", "c2c",
              "--archive", fuze_archive.root)
    assert out.returncode == 1 and "two different epochs" in out.stderr
    assert snapshot(fuze_archive.root) == before


def test_archive_ls_after_a_failed_ingest_lists_only_stored_epochs(tmp_path):
    placed_obj(shared_data("mesh", "fuze.obj"), tmp_path / "src")
    terrain_xyz(tmp_path / "bad.xyz", nan_rows=5)
    manifest = write_manifest(tmp_path / "site.toml", ["src/fuze.obj"])
    text = manifest.read_text()
    second = text[text.index("[[epochs]]"):].replace(EPOCH, "2025-01-01").replace(
        "src/fuze.obj", "bad.xyz")
    manifest.write_text(text + "\n" + second)
    archive = Archive.init(tmp_path / "archive", durable=False)
    with pytest.raises(ReaderError, match="bad.xyz"):
        ingest(manifest, archive)
    out = cli("archive", "ls", "--archive", archive.root, env={"COLUMNS": "200"})
    assert out.returncode == 0, out.stderr
    table, _, notes = out.stdout.partition("└")
    assert EPOCH in table and "2025-01-01" not in table
    assert "not ingested: 2025-01-01" in notes


def test_manifest_example_lists_prints_and_copies(tmp_path):
    out = cli("manifest", "example")
    names = out.stdout.split()
    assert out.returncode == 0 and "gasometer" in names and len(names) >= 4
    out = cli("manifest", "example", "gasometer")
    assert out.returncode == 0 and 'id = "gasometer"' in out.stdout
    out = cli("manifest", "example", "eisenheim", "-o", tmp_path)
    assert out.returncode == 0, out.stderr
    copied = tmp_path / "eisenheim.toml"
    assert copied.read_bytes() == (ROOT / "assets_manifest/sites/eisenheim.toml").read_bytes()
    assert cli("manifest", "validate", copied).returncode == 0
    out = cli("manifest", "example", "nowhere")
    assert out.returncode == 1 and "gasometer" in out.stderr


def test_two_demos_building_at_once_leave_complete_sources(tmp_path):
    code = ("import sys; from pathlib import Path; from viewer.commands.demo import "
            "build_sources; print(build_sources(Path(sys.argv[1]), 7, density=0.02, "
            "texture_size=128))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = tmp_path / "demo"
    runs = [subprocess.Popen([sys.executable, "-c", code, str(out)], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [r.communicate(timeout=600) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], results
    manifest = Path(results[0][0].strip())
    assert manifest.parent == out
    check = cli("manifest", "validate", "--check-sources", manifest)
    assert check.returncode == 0, check.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".demo-")]


def test_manifest_loader_bounds_without_the_cli(tmp_path):
    from assets_manifest import load_manifest

    path = tmp_path / "deep.toml"
    path.write_text("a = " + "{ b = " * 40 + "1" + " }" * 40 + "\n")
    with pytest.raises(ManifestError, match="nested"):
        load_manifest(path)
    with pytest.raises(ManifestError, match="folder"):
        load_manifest(tmp_path)
