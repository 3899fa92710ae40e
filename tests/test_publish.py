"""``publish`` on the real demo archive: 3D Tiles checked against the spec's rules, glTF by the
Khronos validator, STAC validated offline, the page opened in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import laspy
import numpy as np
import pytest
from chromium_page import chromium, open_page
from conftest import ROOT, copy_archive
from pyproj import Geod, Transformer

from archive import Archive
from archive.restricted import RestrictedSite
from processing.errors import ProcessingError
from processing.gltf import _accessor, _read_chunks
from processing.publish import publish
from processing.publish.page import find_cesium
from processing.publish.stac import OfflineValidator, validate_catalog
from processing.publish.tiles import Z_UP_TO_Y_UP, georeference

SITE = "gasometer-demo"
FIRST, LAST = "2019-06-15", "2024-05-20"
GASOMETER = (51.4938, 6.8704)  # lat, lon (KuLaDig: 51°29'37.6"N 6°52'13.4"E)
WEB = ROOT / "js"


def _cesium_or_skip() -> None:
    try:
        find_cesium()
    except ProcessingError as exc:
        pytest.skip(f"CesiumJS not installed ({exc})")


@pytest.fixture(scope="module")
def published(demo_site, tmp_path_factory):
    """The demo archive with one stored comparison, published; beside it a copy of that
    comparison as an older change algorithm stored it (no `algorithm` in its summary), which
    publish must leave out."""
    _cesium_or_skip()
    from processing.compare import compare
    base = tmp_path_factory.mktemp("publish")
    archive = copy_archive(demo_site[1], base / "archive")
    result = compare(archive, SITE, FIRST, LAST, method="c2c")
    head = archive.read(SITE)
    with archive.writer(SITE, message="an older product", user="pytest") as w:
        for logical in head.listdir(result.prefix):
            name = logical.rsplit("/", 1)[-1]
            old = f"changes/{FIRST}__{LAST}/c2c-0000000000000000/{name}"
            if name == "summary.json":
                summary = head.read_json(logical)
                del summary["algorithm"]
                w.add_json(old, summary)
            else:
                w.add_file(old, head.path(logical))
    report = publish(archive, SITE, base / "out")
    return archive, report


def _tilesets(out: Path) -> list[Path]:
    return sorted(out.glob("tiles/**/tileset.json"))


# A JSON Schema for what 3D Tiles 1.1 requires of tileset.json, tiles and bounding volumes
# (written from the specification's rules; the npm 3d-tiles-validator is not published there).
NUMBER = {"type": "number"}
TILE = {
    "type": "object", "required": ["boundingVolume", "geometricError"],
    "properties": {
        "boundingVolume": {"type": "object", "minProperties": 1, "properties": {
            "box": {"type": "array", "items": NUMBER, "minItems": 12, "maxItems": 12},
            "region": {"type": "array", "items": NUMBER, "minItems": 6, "maxItems": 6},
            "sphere": {"type": "array", "items": NUMBER, "minItems": 4, "maxItems": 4}}},
        "geometricError": {"type": "number", "minimum": 0},
        "refine": {"enum": ["ADD", "REPLACE"]},
        "transform": {"type": "array", "items": NUMBER, "minItems": 16, "maxItems": 16},
        "content": {"type": "object", "required": ["uri"],
                    "properties": {"uri": {"type": "string"}}},
        "children": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/tile"}},
    },
}
TILESET_SCHEMA = {
    "$defs": {"tile": TILE},
    "type": "object", "required": ["asset", "geometricError", "root"],
    "properties": {
        "asset": {"type": "object", "required": ["version"],
                  "properties": {"version": {"const": "1.1"}}},
        "geometricError": {"type": "number", "minimum": 0},
        "root": {"allOf": [{"$ref": "#/$defs/tile"}, {"required": ["refine"]}]},
    },
}


def _walk(tile, parent_error, depth=0):
    yield tile, parent_error, depth
    for child in tile.get("children", []):
        yield from _walk(child, tile["geometricError"], depth + 1)


def test_tilesets_follow_the_3d_tiles_rules(published):
    _, report = published
    paths = _tilesets(report.out)
    assert len(paths) == 4  # three epochs, one comparison
    for path in paths:
        doc = json.loads(path.read_text())
        jsonschema.validate(doc, TILESET_SCHEMA)
        assert doc["asset"]["extras"]["licence"] == "CC0-1.0"
        tiles = list(_walk(doc["root"], doc["geometricError"]))
        # the LOD chain, coarsest at the root: LOD k's tiles (one, or spatial tiles where the
        # LOD is large) at depth 2 - k
        lods = [int(t["content"]["uri"][3]) for t, *_ in tiles]
        assert [d for *_, d in tiles] == [2 - k for k in lods] and lods[0] == 2
        for tile, parent_error, _ in tiles:
            assert tile["geometricError"] <= parent_error  # the spec's monotonic rule
            box = np.array(tile["boundingVolume"]["box"])
            glb = path.parent / tile["content"]["uri"]
            gltf, binary = _read_chunks(glb)
            pos = gltf["accessors"][gltf["meshes"][0]["primitives"][0]["attributes"]["POSITION"]]
            centre, half = box[:3], np.abs(box[3:].reshape(3, 3)).sum(axis=0)
            assert np.all(np.array(pos["min"]) >= centre - half - 1e-3)  # content inside its box
            assert np.all(np.array(pos["max"]) <= centre + half + 1e-3)
            root_node = gltf["nodes"][gltf["scenes"][0]["nodes"][0]]
            assert root_node["matrix"] == Z_UP_TO_Y_UP
        assert all((t["geometricError"] == 0.0) == (k == 0)
                   for (t, *_), k in zip(tiles, lods, strict=True))
        assert 0 < tiles[1][0]["geometricError"] <= tiles[0][0]["geometricError"]
        assert tiles[0][0]["geometricError"] < doc["geometricError"]  # below the whole box


def test_geometric_errors_are_measured_distances(published):
    _, report = published
    for epoch, errors in report.geometric_errors.items():
        assert errors[0] == 0.0 and all(e > 0 for e in errors[1:]), epoch
        assert errors[1] <= errors[2], epoch  # coarser LOD, larger error


def test_glb_tiles_pass_the_khronos_gltf_validator(published):
    _, report = published
    if shutil.which("node") is None or not (WEB / "node_modules" / "gltf-validator").is_dir():
        pytest.skip("node or js/node_modules/gltf-validator missing (run `npm ci` in js/)")
    glbs = sorted(str(p) for p in report.out.glob("**/*.glb"))
    assert len(glbs) >= 12  # 3 LODs x (3 epochs + 1 comparison); more where LODs are split
    out = subprocess.run(["node", str(WEB / "validate-gltf.mjs"), *glbs], capture_output=True,
                         text=True, check=True, cwd=WEB, timeout=300).stdout
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == len(glbs)
    for r in results:
        assert r["errors"] == 0, r


def test_epoch_tiles_with_captured_colour_are_unlit(published):
    # A scan's texture or vertex colours carry the captured light: viewers must not light them
    # again (and CesiumJS then needs no image-based lighting for them, docs/PUBLISH.md).
    # Change heatmaps stay lit: their computed colours need shading to show the shape.
    _, report = published
    glbs = sorted((report.out / "tiles").glob("**/*.glb"))
    changes = [g for g in glbs if "changes" in g.parts]
    assert changes and len(changes) < len(glbs)
    for glb in changes:
        gltf, _ = _read_chunks(glb)
        assert "KHR_materials_unlit" not in gltf.get("extensionsUsed", []), glb
    for glb in (g for g in glbs if g not in changes):
        gltf, _ = _read_chunks(glb)
        assert "KHR_materials_unlit" in gltf["extensionsUsed"], glb
        for mesh in gltf["meshes"]:
            for prim in mesh["primitives"]:
                mat = gltf["materials"][prim["material"]]
                coloured = ("COLOR_0" in prim["attributes"]
                            or "baseColorTexture" in mat["pbrMetallicRoughness"])
                assert coloured and "KHR_materials_unlit" in mat["extensions"], glb


def test_a_material_without_captured_colour_keeps_its_shading():
    from processing.publish.tiles import _unlit
    gltf = {"meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1},
                                        "material": 0}]}],
            "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [1, 1, 1, 1]}}]}
    _unlit(gltf)
    assert "extensions" not in gltf["materials"][0] and "extensionsUsed" not in gltf


def test_the_gasometer_stands_where_it_is(published):
    _, report = published
    g = report.georef
    lon, lat, _ = g.to_wgs84(np.zeros(3))[0]
    _, _, metres = Geod(ellps="WGS84").inv(lon, lat, GASOMETER[1], GASOMETER[0])
    assert metres < 10  # the reference position has 4 decimals: +-5 m
    tileset = json.loads((report.out / "tiles" / LAST / "tileset.json").read_text())
    m = np.array(tileset["root"]["transform"]).reshape(4, 4).T
    assert np.allclose(m, g.matrix)


@pytest.mark.parametrize("lat, lon, offset", [
    (51.4938, 6.8704, (250.0, -180.0, 60.0)),     # Oberhausen, west of the zone's meridian
    (53.5511, 9.9937, (-300.0, 420.0, 15.0)),     # Hamburg, east of it
    (48.1374, 11.5755, (120.0, 90.0, -20.0)),     # Munich, near the zone's edge
])
def test_the_site_frame_maps_to_ecef_as_proj_does(lat, lon, offset):
    """Known truth: PROJ's own transformation of origin + offset, against the tile transform.

    One affine transform cannot follow the earth's curvature: the error grows as d²/2R (8 mm at
    320 m, 2 cm at 520 m from the origin), which the bound allows and nothing more.
    """
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)
    e, n = to_utm.transform(lon, lat)
    origin = (round(e), round(n), 40.0)
    g = georeference("EPSG:25832+7837", origin)
    truth = Transformer.from_crs("EPSG:25832+7837", "EPSG:4978", always_xy=True).transform(
        *(np.array(origin) + offset))
    d = np.linalg.norm(offset)
    assert np.linalg.norm(g.to_ecef(np.array(offset)) - np.array(truth)) < d**2 / 6.371e6 + 1e-3


def test_change_tiles_carry_the_stored_values(published):
    archive, report = published
    head = archive.read(SITE)
    assert len(report.pairs) == 1                 # the older product is left out
    pair, key = report.pairs[0].split("/")
    assert key != "c2c-0000000000000000"
    folder = report.out / "tiles" / "changes" / pair / key
    for k in range(3):
        gltf, binary = _read_chunks(folder / f"lod{k}.glb")
        attrs = gltf["meshes"][0]["primitives"][0]["attributes"]
        values, valid = _accessor(gltf, binary, attrs["_CHANGE"]), \
            _accessor(gltf, binary, attrs["_CHANGE_VALID"])
        with np.load(head.path(f"changes/{pair}/{key}/lod{k}.npz")) as npz:
            stored = npz["distance"]
        ok = np.isfinite(stored)
        assert np.array_equal(valid == 1, ok)
        assert np.allclose(values[ok], stored[ok], atol=1e-6)
        colours = _accessor(gltf, binary, attrs["COLOR_0"])
        big = ok & (np.abs(stored) > gltf["asset"]["extras"]["change_range"] / 2)
        red = colours[:, 0].astype(int) > colours[:, 2].astype(int)
        assert np.array_equal(red[big], stored[big] > 0)  # red = added, blue = removed


def test_the_stac_catalog_validates_offline(published):
    _, report = published
    catalog = report.out / "stac" / "catalog.json"
    assert validate_catalog(catalog) == 5  # catalog, collection, three items
    collection = json.loads((report.out / "stac" / SITE / "collection.json").read_text())
    assert collection["license"] == "CC0-1.0"
    assert collection["providers"][0]["name"] == "stadtzeit demo data (synthetic)"
    for epoch in report.epochs:
        item_path = report.out / "stac" / SITE / f"{SITE}-{epoch}" / f"{SITE}-{epoch}.json"
        item = json.loads(item_path.read_text())
        assert item["properties"]["datetime"].startswith(epoch)
        assert item["properties"]["proj:code"] == "EPSG:25832+7837"
        w, s, e, n = item["bbox"]
        assert w < GASOMETER[1] < e and s < GASOMETER[0] < n
        assert {"tileset", "glb", "laz", "provenance"} <= set(item["assets"])
        for asset in item["assets"].values():
            assert (item_path.parent / asset["href"]).resolve().is_file(), asset["href"]


def test_the_offline_validator_finds_errors_and_never_fetches(published, tmp_path):
    import pystac
    _, report = published
    src = report.out / "stac" / SITE / f"{SITE}-{LAST}" / f"{SITE}-{LAST}.json"
    item = json.loads(src.read_text())
    item["properties"]["proj:centroid"] = {"lat": 200, "lon": 6.87}
    bad = pystac.Item.from_dict(item)
    with pytest.raises(pystac.STACValidationError):
        bad.validate(validator=OfflineValidator())
    item["properties"]["proj:centroid"] = {"lat": 51.49, "lon": 6.87}
    item["stac_extensions"].append("https://stac-extensions.github.io/eo/v2.0.0/schema.json")
    with pytest.raises(ProcessingError, match="not shipped"):
        pystac.Item.from_dict(item).validate(validator=OfflineValidator())


def test_every_published_file_carries_licence_and_attribution(published):
    _, report = published
    attribution, licence = "stadtzeit demo data (synthetic)", "CC0-1.0"
    checked = 0
    for path in sorted(report.out.rglob("*")):
        if not path.is_file() or "cesium" in path.relative_to(report.out).parts:
            continue
        if path.suffix == ".glb":
            asset = _read_chunks(path)[0]["asset"]
            text = asset["copyright"] + json.dumps(asset["extras"])
        elif path.suffix == ".laz":
            vlr = next(v for v in laspy.read(path).vlrs if v.user_id == "stadtzeit")
            text = vlr.record_data.decode()
        else:
            text = path.read_text(encoding="utf-8")
        assert attribution in text and licence in text, path
        checked += 1
    assert checked > 20
    assert (report.out / "cesium" / "LICENSE.md").is_file()  # CesiumJS's own terms travel too


def test_restricted_objects_and_used_folders_are_refused(published, tmp_path):
    archive, _ = published
    with pytest.raises(RestrictedSite, match="never published"):
        publish(archive, f"{SITE}--restricted", tmp_path / "x")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine")
    with pytest.raises(ProcessingError, match="not an empty folder"):
        publish(archive, SITE, tmp_path / "used")
    assert [p.name for p in (tmp_path / "used").iterdir()] == ["keep.txt"]


def test_publish_never_writes_to_the_archive(published, tmp_path):
    from test_archive import snapshot
    archive, _ = published
    before = snapshot(archive.root / "ocfl")
    publish(Archive.open(archive.root), SITE, tmp_path / "again")
    assert snapshot(archive.root / "ocfl") == before


@pytest.mark.slow
def test_the_page_shows_the_gasometer_in_headless_chromium(published):
    if chromium() is None:
        pytest.skip("chromium not installed (.ci/setup installs Debian's chromium)")
    _, report = published
    shown = f"stadtzeit.epochSets['{LAST}']"
    run = open_page(report.out, {
        "origin": "stadtzeit.siteToLonLat(0, 0, 0)",
        # What is drawn at the Gasometer's mid-height, seen from the start view?
        "picked": f"""(() => {{
            const v = stadtzeit.viewer;
            const p = Cesium.SceneTransforms.worldToWindowCoordinates(v.scene,
                Cesium.Matrix4.multiplyByPoint(Cesium.Matrix4.unpack(stadtzeit.data.transform),
                    new Cesium.Cartesian3(0, 0, 40), new Cesium.Cartesian3()));
            const hit = v.scene.pick(p);
            return hit ? (hit.primitive === {shown} || hit.tileset === {shown}) : false;
        }})()""",
        "english": """(() => { document.getElementById('lang').click();
            return document.getElementById('attribution').innerText; })()""",
        # the annotations' labels (added right after the first tiles), in the language shown
        "labels": """JSON.stringify(stadtzeit.viewer.entities.values.map(
            (e) => e.label.text.getValue(Cesium.JulianDate.now())))""",
        "titles": "JSON.stringify(stadtzeit.data.annotations.map((a) => a.title.en))",
        "swipe": f"""(async () => {{ const ui = (id) => document.getElementById(id);
            ui('lang').click(); ui('swipe').checked = true;
            const before = Object.keys(stadtzeit.epochSets).length;  // only the shown epoch
            await stadtzeit.show();                                  // loads the other one
            const ok = before === 1 && stadtzeit.epochSets['{FIRST}'].show && {shown}.show &&
                ui('divider').style.display === 'block';
            ui('swipe').checked = false; ui('change').checked = true; await stadtzeit.show();
            const change = Object.values(stadtzeit.changeSets)[0].show && !{shown}.show &&
                ui('legend').style.display === 'block';
            ui('change').checked = false; await stadtzeit.show(); await stadtzeit.drawn();
            return ok && change; }})()""",
    })
    shot = Path(report.out.parent / "page.png")
    shot.write_bytes(run.screenshot)
    assert run.errors == [], run.errors
    assert all(status in (200, 304) for _, status in run.requests), run.requests
    paths = [p for p, _ in run.requests]
    assert all(f"/tiles/{e}/tileset.json" in paths for e in (FIRST, LAST))  # shown, swiped
    assert f"/tiles/{LAST}/lod2.glb" in paths
    assert not any(p.startswith("http") for p in paths)
    lon, lat, _ = run.results["origin"]
    _, _, metres = Geod(ellps="WGS84").inv(lon, lat, GASOMETER[1], GASOMETER[0])
    assert metres < 10
    assert run.results["picked"] is True
    assert "Licence: CC0-1.0" in run.results["english"]
    assert "stadtzeit demo data (synthetic)" in run.results["english"]
    assert run.results["swipe"] is True
    assert run.results["labels"] == run.results["titles"] != "[]"
    from PIL import Image
    image = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert image.shape[0] > 400 and image.std() > 20  # a drawn scene, not a blank canvas
