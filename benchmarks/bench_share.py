"""Sharing and publishing (issue 15): export/import of a site as a bag, publish, the page.

    .venv/bin/python benchmarks/bench_share.py                      # builds the demo (density 1)
    .venv/bin/python benchmarks/bench_share.py --density 0.3        # the test suite's demo
    .venv/bin/python benchmarks/bench_share.py --archive A --site S # an existing archive
    .venv/bin/python benchmarks/bench_share.py --page               # also time the web page
    .venv/bin/python benchmarks/bench_share.py --big 10000000       # a 10M-point site, publish

Side by side, medians of --repeat runs (wall and CPU seconds):
- export (copy + bag + both validations) vs its floor: a plain copy of the object and
  bagit.make_bag(sha512) on it with no validation;
- import (every check + atomic commit) vs its floor: bagit's validation alone plus ocfl-py's
  validation alone (what any careful import must read);
- publish, with its stages (geometric error, tiles, LAZ with licence, STAC, CesiumJS copy);
- with --page: seconds until headless Chromium has drawn the first tiles (stadtzeit.ready)
  and until every shown tile and the globe have loaded (stadtzeit.drawn()).

With --page-compare FOLDER REV: a published folder's page against the page of git revision
REV (same data, same probe: benchmarks/page_probe.js), alternately, medians of --repeat runs.
Where the tiles changed too, --old-folder OLD (the same site published by REV) gives the old
page its own tiles: then the old page is OLD/index.html as REV wrote it.

With --big N: a synthetic site of N LAZ points on a height field (terrain and blocks) and a
textured mesh of about N/2 triangles (a 4096² JPEG, planar UVs; LOD 1 and 2 a quarter and a
twentieth of it), written into a real archive; `publish` of it end to end in a fresh process
(wall, CPU, peak RSS), with the number of spatial tiles it made.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics as stats
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from archive import Archive  # noqa: E402
from archive._ocfl import Validator  # noqa: E402
from archive.bag import export_bag, import_bag  # noqa: E402


def timed(fn) -> tuple[float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return stats.median(r[0] for r in runs), stats.median(r[1] for r in runs)


def demo_archive(work: Path, density: float) -> tuple[Archive, str]:
    from processing.compare import compare
    from processing.demo import build_demo_sources
    from processing.demo.build import SITE_ID
    from processing.ingest import ingest
    sources = build_demo_sources(work / "sources", seed=7, density=density)
    archive = Archive.init(work / "archive")
    ingest(sources.manifest_path, archive, user="bench")
    compare(archive, SITE_ID, "2019-06-15", "2024-05-20", method="c2c")
    return archive, SITE_ID


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archive", type=Path)
    ap.add_argument("--site", default="gasometer-demo")
    ap.add_argument("--density", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--page", action="store_true")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--big", type=int, metavar="POINTS")
    ap.add_argument("--page-compare", nargs=2, metavar=("FOLDER", "REV"),
                    help="a published FOLDER's page against the page of git revision REV")
    ap.add_argument("--old-folder", type=Path,
                    help="with --page-compare: the folder REV published (its own tiles)")
    args = ap.parse_args()
    if args.page_compare:
        page_compare(Path(args.page_compare[0]), args.page_compare[1], args.repeat, args.json,
                     args.old_folder)
        return
    if args.big:
        big_site(args.big, args.repeat if "--repeat" in sys.argv else 1, args.json)
        return

    import bagit

    from processing.publish import publish
    work = Path(tempfile.mkdtemp(prefix="bench-share-"))
    try:
        if args.archive:
            archive, site = Archive.open(args.archive), args.site
        else:
            archive, site = demo_archive(work, args.density)
        obj = archive.object_path(site)
        size = sum(p.stat().st_size for p in obj.rglob("*") if p.is_file())
        files = sum(1 for p in obj.rglob("*") if p.is_file())
        results: dict[str, object] = {"site": site, "object_files": files,
                                      "object_mib": round(size / 2**20, 1),
                                      "cpus": os.cpu_count(), "load": os.getloadavg()[0]}

        def export(i: int) -> None:
            export_bag(archive, site, work / f"bag{i}")

        def export_floor(i: int) -> None:
            shutil.copytree(obj, work / f"floor{i}" / site)
            bagit.make_bag(str(work / f"floor{i}"), {}, processes=1, checksums=["sha512"])

        def import_(i: int) -> None:
            import_bag(Archive.init(work / f"imp{i}", durable=True), work / "bag0")

        def import_floor(i: int) -> None:
            bagit.Bag(str(work / "bag0")).validate(processes=1)
            Validator(check_digests=True).validate_object(str(work / "bag0" / "data" / site))

        def pub(i: int) -> None:
            results.setdefault("publish_stages", []).append(
                publish(archive, site, work / f"pub{i}").timings)

        for name, fn in [("export", export), ("export_floor", export_floor),
                         ("import", import_), ("import_floor", import_floor),
                         ("publish", pub)]:
            runs = [timed(lambda i=i, fn=fn: fn(i)) for i in range(args.repeat)]
            wall, cpu = median(runs)
            results[name] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}
            print(f"{name:14s} wall {wall:7.2f} s   cpu {cpu:7.2f} s", flush=True)
        for a, b in (("export", "export_floor"), ("import", "import_floor")):
            ratio = results[a]["wall_s"] / max(results[b]["wall_s"], 1e-9)
            results[f"{a}_vs_floor"] = round(ratio, 2)
            print(f"{a} / floor: {ratio:.2f}")
        stages = results["publish_stages"]
        results["publish_stages"] = {k: round(stats.median(s[k] for s in stages), 2)
                                     for k in stages[0]}
        print("publish stages (median s):", results["publish_stages"])
        if args.page:
            from chromium_page import open_page
            runs = [open_page(work / "pub0", {}) for _ in range(args.repeat)]
            first = stats.median(r.ready_seconds for r in runs)
            settled = stats.median(r.settled_seconds for r in runs)
            results["page_first_tiles_s"] = round(first, 2)
            results["page_all_loaded_s"] = round(settled, 2)
            print(f"page: first tiles {first:.2f} s, all loaded {settled:.2f} s "
                  f"(medians of {len(runs)})")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def height_field(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rolling terrain with 40 flat-roofed blocks (fixed seed): the known surface."""
    z = 4 * np.sin(x / 53) * np.cos(y / 71) + 0.02 * x
    rng = np.random.default_rng(15)
    for x0, y0, w, d, h in zip(rng.uniform(-400, 350, 40), rng.uniform(-400, 350, 40),
                               rng.uniform(15, 50, 40), rng.uniform(15, 50, 40),
                               rng.uniform(8, 60, 40), strict=True):
        z = np.where((x >= x0) & (x <= x0 + w) & (y >= y0) & (y <= y0 + d), z + h, z)
    return z


def grid_mesh(n: int, half: float, texture: np.ndarray):
    from processing.types import Mesh
    xs = np.linspace(-half, half, n, dtype=np.float32)
    x, y = np.meshgrid(xs, xs)
    v = np.c_[x.ravel(), y.ravel(), height_field(x, y).ravel()].astype(np.float32)
    idx = np.arange(n * n, dtype=np.uint32).reshape(n, n)
    a, b, c, d = (idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(),
                  idx[1:, 1:].ravel())
    return Mesh(vertices=v, faces=np.r_[np.c_[a, b, d], np.c_[a, d, c]], frame="site",
                uv=np.c_[(v[:, 0] + half) / (2 * half), (half - v[:, 1]) / (2 * half)],
                texture=texture, texture_format="jpeg")


def big_site(points: int, repeat: int, json_out: Path | None) -> None:
    """Publish a synthetic site of ``points`` LAZ points and ~points/2 mesh triangles."""
    import resource
    import subprocess

    import laspy
    from viewer_fixtures import ORIGIN, SITE, epoch_json, manifest

    from processing.gltf import write_glb
    epoch, half = "2019-05-02", 500.0
    work = Path(tempfile.mkdtemp(prefix="bench-share-big-"))
    try:
        t0 = time.perf_counter()
        rng = np.random.default_rng(7)
        texture = np.repeat(np.repeat(rng.integers(60, 200, (256, 256, 3), dtype=np.uint8),
                                      16, axis=0), 16, axis=1)  # 4096², like a photo: a JPEG
        texture[::64] = 30                                   # of MBs, not of noise
        texture[:, ::64] = 30
        n = int(round(np.sqrt(points / 4)))                  # ~points/4 vertices, 2x faces
        archive = Archive.init(work / "archive", durable=False)
        faces = []
        with archive.writer(SITE, message="bench site", user="bench") as w:
            w.add_json("site.json", manifest([epoch], annotations=False))
            for k, size in enumerate((n, n // 2, int(n / 4.5))):
                mesh = grid_mesh(size, half, texture)
                write_glb(mesh, work / f"lod{k}.glb", extras={"lod": k})
                w.add_file(f"epochs/{epoch}/mesh/lod{k}.glb", work / f"lod{k}.glb")
                faces.append(mesh.n_faces)
                del mesh
            header = laspy.LasHeader(point_format=7, version="1.4")
            header.scales, header.offsets = [0.001] * 3, np.round(ORIGIN)
            las = laspy.LasData(header)
            xy = rng.uniform(-half, half, (points, 2))
            las.x, las.y = xy[:, 0] + ORIGIN[0], xy[:, 1] + ORIGIN[1]
            las.z = height_field(xy[:, 0], xy[:, 1]) + ORIGIN[2]
            las.red = las.green = las.blue = rng.integers(0, 65535, points, dtype=np.uint16)
            del xy
            las.write(work / "points.laz", do_compress=True, laz_backend=laspy.LazBackend.Lazrs)
            del las
            w.add_file(f"epochs/{epoch}/points.laz", work / "points.laz")
            w.add_json(f"epochs/{epoch}/epoch.json", epoch_json(epoch, faces))
        print(f"site: {points:,} points, faces per LOD {faces} "
              f"(built in {time.perf_counter() - t0:.0f} s)", flush=True)
        code = ("import json, sys, time; from archive import Archive; "
                "from processing.publish import publish; "
                "r = publish(Archive.open(sys.argv[1]), sys.argv[2], sys.argv[3]); "
                "print(json.dumps({'timings': r.timings, 'files': r.files, "
                "'mib': r.bytes / 2**20}))")
        runs = []
        for i in range(repeat):
            c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code, str(work / "archive"), SITE,
                                  str(work / f"pub{i}")], capture_output=True, text=True,
                                 check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            wall = time.perf_counter() - t
            c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            r = json.loads(out.stdout.splitlines()[-1])
            tiles = sum(1 for _ in (work / f"pub{i}" / "tiles").rglob("*.glb"))
            runs.append({"wall_s": round(wall, 1),
                         "cpu_s": round(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime, 1),
                         "peak_rss_mib": round(c1.ru_maxrss / 1024), "tiles": tiles,
                         "mib": round(r["mib"]), "files": r["files"],
                         "stages": {k: round(v, 1) for k, v in r["timings"].items()}})
            print(json.dumps(runs[-1]), flush=True)
            shutil.rmtree(work / f"pub{i}")
        result = {"points": points, "faces": faces, "load": os.getloadavg()[0], "runs": runs,
                  "wall_s_median": stats.median(r["wall_s"] for r in runs)}
        print(f"publish of {points:,} points / {faces[0]:,} faces: median "
              f"{result['wall_s_median']:.1f} s, peak RSS {max(r['peak_rss_mib'] for r in runs)} "
              "MiB", flush=True)
        if json_out:
            json_out.write_text(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def page_compare(folder: Path, rev: str, repeat: int, json_out: Path | None,
                 old_folder: Path | None = None) -> None:
    """Open FOLDER's index.html and the page of git revision REV (same data, written beside it
    as index-old.html; or ``old_folder``'s index.html, published by REV with its own tiles)
    alternately in headless Chromium; medians of the probe's milestones."""
    import re
    import subprocess

    from chromium_page import open_page

    from processing.publish.page import write_page
    text = (folder / "index.html").read_text(encoding="utf-8")
    blob = re.search(r'<script id="stadtzeit-data" type="application/json">(.*?)</script>',
                     text, re.S)[1]
    data = json.loads(blob.replace("<\\/", "</"))
    old = subprocess.run(["git", "show", f"{rev}:processing/publish/index.html"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    if old_folder is None:
        write_page(folder, data, name="index-old.html", template=old)
        pages = {"old": (folder, "index-old.html"), "new": (folder, "index.html")}
    else:
        if (old_folder / "index.html").read_text(encoding="utf-8") != \
                write_page(old_folder, data, name="index-old.html", template=old).read_text(
                    encoding="utf-8"):
            raise SystemExit(f"{old_folder}/index.html is not the page {rev} writes for "
                             f"{folder}'s data")
        pages = {"old": (old_folder, "index.html"), "new": (folder, "index.html")}
    probe = (ROOT / "benchmarks" / "page_probe.js").read_text()
    keys = ("cesium", "viewer", "tileset", "visible", "firstDrawn", "loaded", "frames",
            "frameMs")
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    for i in range(repeat):
        for name, (where, page) in pages.items():
            run = open_page(where, {"probe": "window.__probe",
                                     "requests": "performance.getEntriesByType('resource')"
                                                 ".filter(e => e.responseEnd < window.__probe"
                                                 ".firstDrawn).length"},
                            page=page, init_script=probe, timeout=300)
            r = {k: run.results["probe"].get(k) for k in keys}
            r["requests_before_first_tiles"] = run.results["requests"]
            r["errors"] = len(run.errors)
            runs[name].append(r)
            print(name, i, json.dumps(r), f"load {os.getloadavg()[0]:.1f}", flush=True)
    result: dict[str, object] = {"rev": rev, "folder": str(folder),
                                 "old_folder": str(old_folder or folder), "runs": runs,
                                 "load": os.getloadavg()[0]}
    for name, rs in runs.items():
        med = {k: stats.median(r[k] for r in rs if r[k] is not None)
               for k in (*keys, "requests_before_first_tiles")}
        result[name] = med
        print(f"{name}: median ms since navigation: " + ", ".join(
            f"{k} {v:.0f}" for k, v in med.items()), flush=True)
    if json_out:
        json_out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
