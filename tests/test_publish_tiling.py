"""Spatial tiling in ``publish``: a synthetic height field with known truth, written into a
real archive, published with a small tile budget so that LOD 0 and LOD 1 are split.

Epoch E1 is textured (a random PNG, planar UVs), epoch E2 vertex-coloured, and a stored
comparison E1 -> E2 carries the exact height differences for every LOD.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from conftest import ROOT
from PIL import Image
from test_publish import TILESET_SCHEMA, _walk
from viewer_fixtures import epoch_json, manifest

from archive import Archive
from processing.gltf import _accessor, _read_chunks, write_glb
from processing.publish import publish
from processing.publish.page import find_cesium
from processing.publish.quadtree import MAX_TILE_FACES
from processing.types import Mesh

SITE = "testblock"
E1, E2 = "2019-05-02", "2022-08-15"
HALF = 50.0
SIZES = (121, 61, 31)       # grid vertices per side of LOD 0, 1, 2: 28,800 / 7,200 / 1,800 faces
BUDGET = 2000               # triangles per tile: LOD 0 and LOD 1 split, LOD 2 one tile
WEB = ROOT / "js"


def height(x: np.ndarray, y: np.ndarray, epoch: str) -> np.ndarray:
    z = 3 * np.sin(x / 7) * np.cos(y / 11)
    return z + (np.where((abs(x - 20) < 10) & (abs(y) < 10), 12.0, 0.0) if epoch == E2 else 0)


def grid(n: int, epoch: str, texture: np.ndarray | None) -> Mesh:
    xs = np.linspace(-HALF, HALF, n)
    x, y = np.meshgrid(xs, xs)
    v = np.c_[x.ravel(), y.ravel(), height(x, y, epoch).ravel()].astype(np.float32)
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = (idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(),
                  idx[1:, 1:].ravel())
    mesh = Mesh(vertices=v, faces=np.r_[np.c_[a, b, d], np.c_[a, d, c]].astype(np.uint32),
                frame="site")
    if texture is None:
        mesh.vertex_colors = np.tile(np.array([[90, 150, 210, 255]], np.uint8), (len(v), 1))
        mesh.vertex_colors[v[:, 2] > 5, :3] = (200, 80, 60)
    else:
        mesh.uv = np.c_[(v[:, 0] + HALF) / (2 * HALF), (HALF - v[:, 1]) / (2 * HALF)]
        mesh.texture, mesh.texture_format = texture, "png"
    return mesh


def change_values(n: int) -> np.ndarray:
    xs = np.linspace(-HALF, HALF, n).astype(np.float32).astype(np.float64)
    x, y = np.meshgrid(xs, xs)
    za = height(x, y, E1).astype(np.float32)
    zb = height(x, y, E2).astype(np.float32)
    return (zb.astype(np.float64) - za).ravel()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("tiling")
    texture = np.random.default_rng(3).integers(0, 256, (200, 240, 3), dtype=np.uint8)
    archive = Archive.init(base / "archive", durable=False)
    meshes: dict[str, list[Mesh]] = {}
    with archive.writer(SITE, message="tiling test site", user="tests") as w:
        w.add_json("site.json", manifest([E1, E2], annotations=False))
        for e in (E1, E2):
            meshes[e] = [grid(n, e, texture if e == E1 else None) for n in SIZES]
            for k, mesh in enumerate(meshes[e]):
                path = base / f"{e}-lod{k}.glb"
                write_glb(mesh, path, extras={"lod": k})
                w.add_file(f"epochs/{e}/mesh/lod{k}.glb", path)
            w.add_json(f"epochs/{e}/epoch.json", epoch_json(e, [m.n_faces for m in meshes[e]]))
        for k, n in enumerate(SIZES):
            np.savez(base / "c.npz", distance=change_values(n))
            w.add_file(f"changes/{E1}__{E2}/m3c2/lod{k}.npz", base / "c.npz")
        w.add_json(f"changes/{E1}__{E2}/m3c2/summary.json",
                   {"format": "stadtzeit-change/1", "a": E1, "b": E2, "method": "m3c2"})
    return archive, meshes, texture, base


@pytest.fixture(scope="module")
def published(site):
    try:
        find_cesium()
    except Exception as exc:  # noqa: BLE001 - any reason CesiumJS is missing
        pytest.skip(f"CesiumJS not installed ({exc})")
    archive, meshes, texture, base = site
    return publish(archive, SITE, base / "out", max_tile_faces=BUDGET), meshes, texture


def _tileset(report, name: str) -> tuple[Path, dict]:
    path = report.out / "tiles" / name / "tileset.json"
    return path, json.loads(path.read_text())


def _content(path: Path) -> tuple[dict, np.ndarray, np.ndarray, dict]:
    gltf, binary = _read_chunks(path)
    prim = gltf["meshes"][0]["primitives"][0]
    attrs = {name: np.array(_accessor(gltf, binary, i)) for name, i in prim["attributes"].items()}
    faces = np.array(_accessor(gltf, binary, prim["indices"])).reshape(-1, 3)
    return gltf, attrs["POSITION"], faces, {**attrs, "_binary": binary, "_prim": prim}


def _lod_of(uri: str) -> int:
    return int(uri.split("/")[0].removeprefix("lod").removesuffix(".glb"))


def _triangles(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Each triangle's nine float32 coordinates as one sortable row."""
    t = np.ascontiguousarray(v[f].reshape(len(f), 9).astype(np.float32))
    return np.sort(t.view(np.dtype((np.void, 36))).ravel())


def _area(v: np.ndarray, f: np.ndarray) -> float:
    a, b, c = (v[f[:, i]].astype(np.float64) for i in range(3))
    return float(np.linalg.norm(np.cross(b - a, c - a), axis=1).sum() / 2)


def test_every_triangle_lands_in_exactly_one_tile(published):
    report, meshes, _ = published
    for name, epoch in ((E1, E1), (E2, E2), (f"changes/{E1}__{E2}/m3c2", E2)):
        path, doc = _tileset(report, name)
        for k, source in enumerate(meshes[epoch]):
            uris = [t["content"]["uri"] for t, *_ in _walk(doc["root"], 0)
                    if "content" in t and _lod_of(t["content"]["uri"]) == k]
            parts = [_content(path.parent / u)[1:3] for u in uris]
            assert (len(uris) > 1) == (source.n_faces > BUDGET), (name, k, uris)
            assert sum(len(f) for _, f in parts) == source.n_faces
            assert np.isclose(sum(_area(v, f) for v, f in parts),
                              _area(source.vertices, source.faces), rtol=1e-9)
            got = np.sort(np.concatenate([_triangles(v, f) for v, f in parts]))
            assert np.array_equal(got, _triangles(source.vertices, source.faces)), (name, k)
            assert all(len(f) <= BUDGET for _, f in parts)


def test_the_tiled_tilesets_follow_the_3d_tiles_rules(published):
    report, meshes, _ = published
    for name in (E1, E2, f"changes/{E1}__{E2}/m3c2"):
        path, doc = _tileset(report, name)
        jsonschema.validate(doc, TILESET_SCHEMA)
        assert doc["asset"]["extras"]["licence"] == "CC-BY-4.0"
        assert "transform" in doc["root"]
        referenced = []
        for tile, parent_error, _ in _walk(doc["root"], doc["geometricError"]):
            assert tile["refine"] == "REPLACE"
            assert tile["geometricError"] <= parent_error
            box = np.array(tile["boundingVolume"]["box"])
            centre, half = box[:3], np.abs(box[3:].reshape(3, 3)).sum(axis=0)
            for child in tile.get("children", []):   # children inside their parent
                cb = np.array(child["boundingVolume"]["box"])
                ch = np.abs(cb[3:].reshape(3, 3)).sum(axis=0)
                assert np.all(cb[:3] - ch >= centre - half - 1e-6)
                assert np.all(cb[:3] + ch <= centre + half + 1e-6)
            if "content" not in tile:
                continue
            uri = tile["content"]["uri"]
            referenced.append(uri)
            gltf, v, _, _ = _content(path.parent / uri)
            lo, hi = v.min(axis=0), v.max(axis=0)
            assert np.all(lo >= centre - half - 1e-4) and np.all(hi <= centre + half + 1e-4)
            assert np.all(hi - lo <= 2 * half + 1e-4)
            # tight: the box is the content's box unless children reach further
            if not tile.get("children"):
                assert np.allclose(centre, (lo + hi) / 2, atol=1e-3), uri
            k = _lod_of(uri)
            if k == 0:
                assert tile["geometricError"] == 0.0 and not tile.get("children")
            else:
                assert tile["geometricError"] >= report.geometric_errors[E2 if "changes" in
                                                                          name else name][k]
                assert tile["children"]   # every coarse tile is refined by finer ones
            assert gltf["asset"]["copyright"].startswith("© Teststadt (CC BY 4.0)")
            assert gltf["asset"]["extras"]["licence"] == "CC-BY-4.0"
        on_disk = sorted(str(p.relative_to(path.parent)) for p in path.parent.rglob("*.glb"))
        assert sorted(referenced) == on_disk  # each GLB once, none left over
        assert len(on_disk) > 3


def test_tiles_keep_their_cropped_texture(published):
    report, meshes, texture = published
    path, doc = _tileset(report, E1)
    h, w = texture.shape[:2]
    for k in (0, 1):                                             # the split LODs
        for uri in sorted(p.relative_to(path.parent).as_posix()
                          for p in (path.parent / f"lod{k}").glob("*.glb")):
            gltf, v, f, attrs = _content(path.parent / uri)
            view = gltf["bufferViews"][gltf["images"][0]["bufferView"]]
            start = view.get("byteOffset", 0)
            crop = np.asarray(Image.open(io.BytesIO(
                bytes(attrs["_binary"][start:start + view["byteLength"]]))).convert("RGB"))
            assert crop.shape[0] * crop.shape[1] < h * w, uri  # cropped, not the whole image
            uv = attrs["TEXCOORD_0"][f].mean(axis=1)             # at triangle centroids
            got = crop[(uv[:, 1] * crop.shape[0]).astype(int),
                       (uv[:, 0] * crop.shape[1]).astype(int)]
            xy = v[f].mean(axis=1)[:, :2]                        # the truth: planar UVs
            su = (xy[:, 0] + HALF) / (2 * HALF), (HALF - xy[:, 1]) / (2 * HALF)
            want = texture[(su[1] * h).astype(int), (su[0] * w).astype(int)]
            assert np.array_equal(got, want), uri


def test_split_change_tiles_carry_the_true_differences(published):
    report, meshes, _ = published
    path, doc = _tileset(report, f"changes/{E1}__{E2}/m3c2")
    for p in sorted(path.parent.rglob("*.glb")):
        _, v, _, attrs = _content(p)
        truth = height(v[:, 0].astype(np.float64), v[:, 1].astype(np.float64), E2) - \
            height(v[:, 0].astype(np.float64), v[:, 1].astype(np.float64), E1)
        assert np.allclose(attrs["_CHANGE"], truth, atol=1e-4), p
        assert np.all(attrs["_CHANGE_VALID"] == 1)
        red = attrs["COLOR_0"][:, 0].astype(int) > attrs["COLOR_0"][:, 2].astype(int)
        assert np.array_equal(red[truth > 6], np.ones(int((truth > 6).sum()), bool))


def test_the_full_mesh_is_still_one_download(published):
    report, meshes, _ = published
    item = json.loads((report.out / "stac" / SITE / f"{SITE}-{E1}" / f"{SITE}-{E1}.json")
                      .read_text())
    href = item["assets"]["glb"]["href"]
    assert href.endswith(f"data/{E1}/lod0.glb")
    _, v, f, _ = _content(report.out / "data" / E1 / "lod0.glb")
    assert np.array_equal(_triangles(v, f), _triangles(meshes[E1][0].vertices,
                                                       meshes[E1][0].faces))


def test_tiled_glbs_pass_the_khronos_gltf_validator(published):
    report, *_ = published
    if shutil.which("node") is None or not (WEB / "node_modules" / "gltf-validator").is_dir():
        pytest.skip("node or js/node_modules/gltf-validator missing (run `npm ci` in js/)")
    glbs = sorted(str(p) for p in report.out.glob("tiles/**/*.glb"))
    out = subprocess.run(["node", str(WEB / "validate-gltf.mjs"), *glbs], capture_output=True,
                         text=True, check=True, cwd=WEB, timeout=300).stdout
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == len(glbs) > 20
    for r in results:
        assert r["errors"] == 0 and r["warnings"] == 0, r


def test_small_meshes_stay_one_tile_per_lod(site, tmp_path):
    archive, meshes, _, _ = site
    assert meshes[E1][0].n_faces < MAX_TILE_FACES
    report = publish(archive, SITE, tmp_path / "out")
    _, doc = _tileset(report, E1)
    chain = [t["content"]["uri"] for t, *_ in _walk(doc["root"], 0)]
    assert chain == ["lod2.glb", "lod1.glb", "lod0.glb"]


def test_finer_tiles_keep_a_parent_where_the_coarser_lod_has_none(tmp_path):
    """LOD 1 covers only the west half: LOD 0's eastern tiles hang under content-less tiles."""
    from processing.publish.quadtree import sub_mesh, tile_chain
    from processing.publish.tiles import georeference, tileset, write_tiles
    full, mid, top = grid(121, E2, None), grid(61, E2, None), grid(31, E2, None)
    west = np.flatnonzero(mid.vertices[mid.faces].mean(axis=1)[:, 0] < 0)
    chain = [full, sub_mesh(mid, west)[0], top]
    sources = []
    for k, mesh in enumerate(chain):
        sources.append(write_glb(mesh, tmp_path / f"src{k}.glb"))
    _, tiling = tile_chain(chain, BUDGET)
    bounds = write_tiles(chain, sources, tiling, tmp_path, copyright="c", extras={})
    doc = tileset(tiling, bounds, [0.0, 0.2, 0.5], georeference("EPSG:25832+7837",
                                                                 (351823.0, 5707968.0, 42.0)),
                  {})
    jsonschema.validate(doc, TILESET_SCHEMA)
    tiles = [t for t, *_ in _walk(doc["root"], 0)]
    empty = [t for t in tiles if "content" not in t]
    assert empty and all(t["children"] and t["geometricError"] == 0.2 for t in empty)
    leaves = [t["content"]["uri"] for t in tiles if t.get("content", {}).get("uri", "")
              .startswith("lod0/")]
    assert sorted(leaves) == sorted(f"lod0/{p.name}" for p in (tmp_path / "lod0").glob("*.glb"))
    assert sum(len(_content(tmp_path / u)[2]) for u in leaves) == full.n_faces
