"""Site manifests: loading, validation messages, safe names, source checks, schema, CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from assets_manifest import (
    Capture,
    ManifestError,
    Preset,
    SiteManifest,
    StadtzeitError,
    UnknownEpochError,
    UnsafeNameError,
    check_name,
    load_manifest,
    parse_manifest,
    shipped_manifests,
    verify_sources,
)
from assets_manifest.schema import SCHEMA_PATH, manifest_json_schema, schema_text
from viewer.cli import main

ROOT = Path(__file__).resolve().parents[1]

BASE = """\
id = "test-site"
licence = "CC-BY-4.0"
attribution = "Stadt Testhausen"
origin = [352351.0, 5706807.0, 34.0]
reference_epoch = "2021-03-15"

[name]
de = "Testort"
en = "Test site"

[description]
de = "Ein Ort für Tests."
en = "A place for tests."

[location]
lat = 51.4931
lon = 6.8731

[[epochs]]
id = "2021-03-15"
capture = "airborne-lidar"
sensor = "ALS"
operator = "Geobasis NRW"
sources = [{ path = "sources/tile.laz" }]

[[epochs]]
id = "2024-05-02"
capture = "terrestrial-lidar"
sensor = "Leica RTC360"
operator = "Stadt Testhausen"
sources = [{ path = "sources/scan.e57" }]

[[annotations]]
id = "roof"
position = [0.0, 0.0, 117.5]
title = { de = "Dach", en = "Roof" }
text = { de = "Oben.", en = "At the top." }
epochs = ["2024-05-02"]
"""


def variant(old: str, new: str, text: str = BASE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def write(tmp_path: Path, text: str | bytes, name: str = "site.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def problems_of(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    return info.value.problems


def fields_of(path: Path) -> list[str]:
    return [field for field, _ in problems_of(path)]


# --- shipped manifests -----------------------------------------------------------------------

def test_shipped_manifests_are_there() -> None:
    ids = {p.stem for p in shipped_manifests()}
    assert {"gasometer", "schloss-oberhausen", "slinky-springs-to-fame"} <= ids


@pytest.mark.parametrize("path", shipped_manifests(), ids=lambda p: p.stem)
def test_shipped_manifest_is_valid_and_consistent(path: Path) -> None:
    from pyproj import Transformer  # the test may use pyproj; assets_manifest must not

    manifest = load_manifest(path)
    assert manifest.id == path.stem
    assert manifest.crs == "EPSG:25832+7837"
    assert len(manifest.epochs) >= 1 and manifest.boundary is not None
    # The origin lies near the WGS84 location and inside the boundary.
    east, north = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True).transform(
        manifest.location.lon, manifest.location.lat)
    assert abs(east - manifest.origin[0]) < 50 and abs(north - manifest.origin[1]) < 50
    xs = [p[0] for p in manifest.boundary]
    ys = [p[1] for p in manifest.boundary]
    assert min(xs) < manifest.origin[0] < max(xs) and min(ys) < manifest.origin[1] < max(ys)
    assert 20 < manifest.origin[2] < 80  # DHHN2016 ground heights in Oberhausen
    for epoch in manifest.epochs:
        for source in epoch.sources:
            assert manifest.resolve_source(source).is_relative_to(path.parent)


# --- a valid manifest ------------------------------------------------------------------------

def test_load_valid_manifest_and_helpers(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    m = load_manifest(path)
    assert m.id == "test-site" and m.name.de == "Testort" and m.name.get("en") == "Test site"
    assert m.crs == "EPSG:25832+7837"  # the default
    assert m.origin == (352351.0, 5706807.0, 34.0)
    assert all(type(v) is float for v in m.origin)
    assert m.epoch_ids == ("2021-03-15", "2024-05-02")
    assert m.reference_epoch_id == "2021-03-15"
    assert m.epoch("2024-05-02").capture is Capture.TERRESTRIAL_LIDAR
    assert [e.preset for e in m.epochs] == [Preset.ALS, Preset.TLS]
    assert m.epochs[0].coarse_registration is False and m.epochs[0].overrides == {}
    assert m.manifest_path == path.absolute()
    assert m.resolve_source(m.epochs[0].sources[0]) == tmp_path / "sources" / "tile.laz"
    assert m.resolve_source("/data/x.laz") == Path("/data/x.laz")
    assert m.epochs[1].sources[0].name == "scan.e57"
    with pytest.raises(UnknownEpochError, match="2021-03-15, 2024-05-02"):
        m.epoch("1999-01-01")
    with pytest.raises(ValidationError):
        m.id = "other"  # frozen


def test_defaults_native_dates_presets_and_overrides(tmp_path: Path) -> None:
    text = variant('reference_epoch = "2021-03-15"\n', "")
    text = variant('id = "2024-05-02"', "id = 2019-07-01", text)  # TOML date, unquoted
    text = variant('capture = "terrestrial-lidar"', 'capture = "mobile-lidar"\n'
                   'overrides = { voxel_size = 0.02, drop_classes = [7, 18], '
                   'surface_method = "poisson", crop_to_boundary = false }\n'
                   "coarse_registration = true", text)
    text = variant('epochs = ["2024-05-02"]', 'epochs = [2019-07-01]', text)
    m = load_manifest(write(tmp_path, text))
    assert m.epoch_ids == ("2021-03-15", "2019-07-01")
    assert m.reference_epoch_id == "2019-07-01"  # earliest, not first listed
    mobile = m.epoch("2019-07-01")
    assert mobile.preset is Preset.ALS and mobile.coarse_registration is True
    assert mobile.overrides == {"voxel_size": 0.02, "drop_classes": (7, 18),
                                "surface_method": "poisson", "crop_to_boundary": False}
    explicit = variant('capture = "airborne-lidar"', 'capture = "airborne-lidar"\npreset = "tls"')
    assert load_manifest(write(tmp_path, explicit)).epochs[0].preset is Preset.TLS


def test_json_round_trip(tmp_path: Path) -> None:
    path = write(tmp_path, variant('[name]', 'boundary = [[0.0, 0.0], [10.0, 0.0], '
                                   '[10.0, 10.0], [0.0, 10.0], [0.0, 0.0]]\n\n[name]'))
    m = load_manifest(path)
    assert m.boundary == ((0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0))  # ring opened
    data = m.to_json_dict()
    assert list(data)[:4] == ["id", "name", "description", "location"]
    text = json.dumps(data)
    again = SiteManifest.from_json_dict(json.loads(text), path=path)
    assert again == m and again.to_json_dict() == data
    assert again.resolve_source(again.epochs[0].sources[0]) == m.resolve_source(
        m.epochs[0].sources[0])
    with pytest.raises(ManifestError, match="relative source path"):
        SiteManifest.from_json_dict(data).resolve_source(m.epochs[0].sources[0])
    broken = dict(data, epochs=[dict(data["epochs"][0], capture="sonar"), data["epochs"][1]])
    with pytest.raises(ManifestError) as info:
        SiteManifest.from_json_dict(broken, name="gasometer@v2/site.json")
    assert info.value.path == "gasometer@v2/site.json"
    assert [f for f, _ in info.value.problems] == ["epochs[0] (2021-03-15).capture"]


# --- each kind of error names the file and the field -----------------------------------------

@pytest.mark.parametrize(("old", "new", "field", "words"), [
    ('capture = "airborne-lidar"', 'captur = "airborne-lidar"',
     "epochs[0] (2021-03-15).captur", "unknown key 'captur'"),
    ('[name]', 'nmae = "x"\n[name]', "nmae", "allowed here: id, name"),
    ('[location]', 'nmae = "x"\n[location]', "description.nmae", "allowed here: de, en"),
    ('id = "2024-05-02"', 'id = "2024-5-2"', "epochs[1] (2024-5-2).id", "YYYY-MM-DD"),
    ('id = "2024-05-02"', 'id = "2024-02-30"', "epochs[1] (2024-02-30).id", "calendar date"),
    ('id = "2024-05-02"', 'id = "2021-03-15"', "epochs[1] (2021-03-15).id",
     "also used by epochs[0]"),
    ('capture = "terrestrial-lidar"', 'capture = "sonar"', "epochs[1] (2024-05-02).capture",
     "'airborne-lidar', 'terrestrial-lidar', 'mobile-lidar' or 'photogrammetry'"),
    ("lat = 51.4931", "lat = 151.4931", "location.lat", "less than or equal to 90"),
    ("lon = 6.8731", 'lon = "6.8731"', "location.lon", "must be a number"),
    ('epochs = ["2024-05-02"]', 'epochs = ["2024-05-03"]', "annotations[0] (roof).epochs[0]",
     "not in this manifest"),
    ('sources = [{ path = "sources/scan.e57" }]',
     'sources = [{ path = "sources/scan.e57", sha256 = "abc123" }]',
     "epochs[1] (2024-05-02).sources[0].sha256", "64 hexadecimal digits"),
    ('reference_epoch = "2021-03-15"', 'reference_epoch = "2020-01-01"', "reference_epoch",
     "not in this manifest"),
    ('id = "test-site"', 'id = "Test Site"', "id", "not a slug"),
    ('attribution = "Stadt Testhausen"', 'attribution = "  "', "attribution", "empty"),
    ('origin = [352351.0, 5706807.0, 34.0]', 'origin = [352351.0, 5706807.0]', "origin[2]",
     "too short"),
    ('origin = [352351.0, 5706807.0, 34.0]', 'origin = [352351.0, nan, 34.0]', "origin[1]",
     "finite"),
    ('licence = "CC-BY-4.0"', 'licence = "CC-BY-4.0"\ncrs = "EPSG:4326"', "crs",
     "projected CRS"),
    ('licence = "CC-BY-4.0"', 'licence = "CC-BY-4.0"\ncrs = "UTM 32"', "crs", "EPSG:"),
    ('[name]', 'boundary = [[0, 0], [1, 1], [1, 0], [0, 1]]\n[name]', "boundary",
     "crosses itself"),
    ('[name]', 'boundary = [[0, 0], [1, 1]]\n[name]', "boundary", "at least 3"),
    ('sensor = "ALS"', 'sensor = "ALS"\ncoarse_registration = "yes"',
     "epochs[0] (2021-03-15).coarse_registration", "true or false"),
    ('sensor = "ALS"', 'sensor = "ALS"\npreset = "fast"', "epochs[0] (2021-03-15).preset",
     "'als', 'tls' or 'photogrammetry'"),
    ('sensor = "ALS"', 'sensor = "ALS"\noverrides = { voxel_size = { a = 1 } }',
     "epochs[0] (2021-03-15).overrides.voxel_size", "a number, true/false"),
    ('sources = [{ path = "sources/tile.laz" }]', "sources = []",
     "epochs[0] (2021-03-15).sources", "at least 1"),
    ('sources = [{ path = "sources/tile.laz" }]',
     'sources = [{ path = "a/tile.laz" }, { path = "b/tile.laz" }]',
     "epochs[0] (2021-03-15).sources[1].path", "also used by sources[0]"),
    ('[name]\nde = "Testort"\nen = "Test site"', 'name = "Testort"',
     "name", "must be a table"),
    ('en = "A place for tests."\n', "", "description.en", "required key is missing"),
])
def test_error_names_file_and_field(tmp_path: Path, old: str, new: str, field: str,
                                    words: str) -> None:
    problems = problems_of(write(tmp_path, variant(old, new)))
    assert field in [f for f, _ in problems], problems
    reason = dict(problems)[field]
    assert words in reason, reason


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    text = variant('capture = "terrestrial-lidar"', 'capture = "sonar"')
    text = variant('id = "2024-05-02"', 'id = "2021-03-15"', text)  # duplicate, and...
    text = variant("lat = 51.4931", "lat = -91.0", text)
    fields = fields_of(write(tmp_path, text))
    # ...the cross-field problems come with the field errors, not one round later.
    assert "epochs[1] (2021-03-15).capture" in fields
    assert "epochs[1] (2021-03-15).id" in fields
    assert "location.lat" in fields
    assert "annotations[0] (roof).epochs[0]" in fields


def test_toml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, variant('sensor = "ALS"', "sensor = ALS"))
    [(field, reason)] = problems_of(path)
    line = BASE.splitlines().index('sensor = "ALS"') + 1
    assert field == "" and "TOML syntax error" in reason and f"line {line}, column 10" in reason


def test_non_utf8_refused_with_position(tmp_path: Path) -> None:
    data = variant('de = "Testort"', 'de = "Testort Stra\xdfe"').encode("latin-1")
    [(field, reason)] = problems_of(write(tmp_path, data))
    line = BASE.splitlines().index('de = "Testort"') + 1
    assert "not UTF-8" in reason and f"line {line}, column 19" in reason and "0xdf" in reason


def test_utf8_bom_accepted(tmp_path: Path) -> None:
    assert load_manifest(write(tmp_path, b"\xef\xbb\xbf" + BASE.encode())).id == "test-site"


def test_missing_file(tmp_path: Path) -> None:
    [(_, reason)] = problems_of(tmp_path / "nope.toml")
    assert "cannot read" in reason


def test_parse_manifest_uses_given_bytes(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"  # never written: the bytes are what counts
    m = parse_manifest(BASE.encode(), path)
    assert m.manifest_path == path.absolute()


# --- safe names ------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "words"), [
    ("", "empty"), (".", "relative"), ("..", "relative"), ("a/b", "separator"),
    ("a\\b", "separator"), ("a\x00b", "U+0000"), ("tab\tname", "U+0009"), ("del\x7f", "U+007F"),
    ("c1\x85", "U+0085"), (" lead", "whitespace"), ("trail\u00a0", "whitespace"),
    (b"caf\xe9.laz", "not valid UTF-8"), ("surrogate\udcff", "not valid UTF-8"),
    ("x" * 256, "256 bytes"), ("ä" * 128, "256 bytes"), ("a:b.laz", "Windows"),
    ("CON.laz", "reserved"), ("scan.", "ends with '.'"), (42, "must be text"),
])
def test_unsafe_names_refused(value: object, words: str) -> None:
    with pytest.raises(UnsafeNameError) as info:
        check_name(value, "source file name")  # type: ignore[arg-type]
    assert isinstance(info.value, StadtzeitError)
    message = str(info.value)
    assert "source file name" in message and repr(value)[:40] in message and words in message


@pytest.mark.parametrize("value", ["gasometer", "2024-05-02", "3dm_32_352_5706_1_nw.laz",
                                   "Straße Süd.e57", "x" * 255, ".hidden"])
def test_safe_names_accepted(value: str) -> None:
    assert check_name(value, "name") == value
    assert check_name(value.encode("utf-8"), "name") == value


def test_unsafe_source_name_in_manifest(tmp_path: Path) -> None:
    path = write(tmp_path, variant('path = "sources/tile.laz"', 'path = "sources/.."'))
    reason = dict(problems_of(path))["epochs[0] (2021-03-15).sources[0].path"]
    assert "unsafe source file name '..'" in reason


# --- source files ----------------------------------------------------------------------------

def _with_sources(tmp_path: Path, tile_sha: str | None) -> tuple[Path, bytes]:
    data = b"LASF" + bytes(range(256)) * 4096  # 1 MiB: hashed in several chunks
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "tile.laz").write_bytes(data)
    (tmp_path / "sources" / "scan.e57").write_bytes(b"ASTM-E57")
    text = BASE
    if tile_sha is not None:
        text = variant('{ path = "sources/tile.laz" }',
                       f'{{ path = "sources/tile.laz", sha256 = "{tile_sha}" }}')
    return write(tmp_path, text), data


def test_verify_sources_ok(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"LASF" + bytes(range(256)) * 4096).hexdigest()
    path, _ = _with_sources(tmp_path, digest.upper())  # upper case is fine
    checked = verify_sources(load_manifest(path))
    assert checked == [("2021-03-15", tmp_path / "sources" / "tile.laz", digest),
                       ("2024-05-02", tmp_path / "sources" / "scan.e57",
                        hashlib.sha256(b"ASTM-E57").hexdigest())]
    assert verify_sources(load_manifest(path), epochs=["2024-05-02"])[0].epoch_id == "2024-05-02"
    with pytest.raises(UnknownEpochError):
        verify_sources(load_manifest(path), epochs=["2000-01-01"])


def test_verify_sources_detects_mismatch_and_missing(tmp_path: Path) -> None:
    expected = "0" * 64
    path, data = _with_sources(tmp_path, expected)
    (tmp_path / "sources" / "scan.e57").unlink()
    with pytest.raises(ManifestError) as info:
        verify_sources(load_manifest(path))
    problems = dict(info.value.problems)
    assert info.value.path == str(path.absolute())
    mismatch = problems["epochs[0] (2021-03-15).sources[0].sha256"]
    assert "2021-03-15" in mismatch and "tile.laz" in mismatch
    assert f"expected sha256 {expected}" in mismatch
    assert f"actual {hashlib.sha256(data).hexdigest()}" in mismatch
    assert "fresh copy" in mismatch
    missing = problems["epochs[1] (2024-05-02).sources[0].path"]
    assert "scan.e57" in missing and "does not exist" in missing


# --- schema ----------------------------------------------------------------------------------

def test_schema_file_is_up_to_date() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "run: python -m assets_manifest.schema")
    schema = manifest_json_schema()
    assert schema["title"] == "stadtzeit site manifest" and schema["additionalProperties"] is False
    assert {"id", "name", "location", "origin", "licence", "attribution", "epochs"} <= set(
        schema["required"])
    epoch = schema["$defs"]["Epoch"]
    assert "preset" not in epoch.get("required", []) and "default" not in epoch["properties"][
        "preset"]


def test_import_stays_light() -> None:
    code = ("import sys, assets_manifest, assets_manifest.schema; "
            "heavy = {'numpy', 'pyproj', 'scipy', 'open3d', 'PySide6', 'vtk'} & set(sys.modules);"
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --- CLI -------------------------------------------------------------------------------------

def test_cli_validate_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, BASE, "good.toml")
    bad = write(tmp_path, variant('capture = "airborne-lidar"', 'capture = "airbone-lidar"'),
                "bad.toml")
    assert main(["manifest", "validate", str(good)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"{good}: valid (site test-site, 2 epochs)" and err == ""

    assert main(["manifest", "validate", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert f"{good}: valid" in out
    assert f"{bad}: epochs[0] (2021-03-15).capture: Input should be" in err

    assert main(["manifest", "validate", "--check-sources", str(good)]) == 1
    out, err = capsys.readouterr()
    assert f"{good}: epochs[0] (2021-03-15).sources[0].path:" in err and "tile.laz" in err


def test_cli_validate_check_sources_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = _with_sources(tmp_path, None)
    assert main(["manifest", "validate", "--check-sources", str(path)]) == 0
    assert "2 source files present" in capsys.readouterr().out


def test_cli_schema_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "schema"]) == 0
    assert json.loads(capsys.readouterr().out) == manifest_json_schema()
    target = tmp_path / "out" / "schema.json"
    assert main(["manifest", "schema", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == schema_text()
    capsys.readouterr()
    assert main(["manifest", "show", str(write(tmp_path, BASE))]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["epochs"][1]["preset"] == "tls"


def test_cli_subprocess(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("stadtzeit")
    if not exe.exists():
        pytest.skip(f"{exe} not installed (pip install -e .)")
    good = shipped_manifests()[0]
    bad = write(tmp_path, variant("lat = 51.4931", "lat = 95.0"))
    run = subprocess.run([str(exe), "manifest", "validate", str(good), str(bad)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert f"{good}: valid (site {good.stem}" in run.stdout
    assert f"{bad}: location.lat: " in run.stderr
    run = subprocess.run([str(exe), "manifest", "validate", str(good)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stderr == ""
