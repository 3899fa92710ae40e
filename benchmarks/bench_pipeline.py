"""Whole ingest pipeline on one airborne tile: time per stage and peak memory.

Builds the demo scene's airborne epoch at N points (default 10 M, as one LAZ tile), writes a
one-epoch manifest, and runs `stadtzeit ingest` on it in a child process, so the peak resident
memory (ru_maxrss) is the pipeline's own. Stage times come from the product's epoch.json.

    .venv/bin/python benchmarks/bench_pipeline.py [--points 10000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyproj

from processing.demo import build as demo_build
from processing.demo import lidar, scene

ROOT = Path(__file__).resolve().parents[1]
FULL_DEMO_ALS_POINTS = 1.48e6  # points of the demo's airborne epoch at density 1.0


def make_tile(folder: Path, points: int) -> Path:
    site = scene.build_site(7)
    epoch = scene.EPOCHS[0]
    cfg = lidar.AlsConfig(density=points / FULL_DEMO_ALS_POINTS)
    cloud = lidar.simulate_als(site.scene(epoch), cfg, np.random.default_rng([7, 1]),
                               demo_build._capture_time(epoch))
    laz = folder / "sources" / "3dm_32_352_5706_1_nw.laz"
    origin = demo_build.site_origin()
    lidar.write_laz(cloud, laz, origin, pyproj.CRS(demo_build.CRS),
                    __import__("datetime").date(2019, 6, 15), "bench tile")
    e, n, h = origin
    manifest = folder / "tile.toml"
    manifest.write_text(f'''id = "bench-tile"
crs = "{demo_build.CRS}"
origin = [{e}, {n}, {h}]
licence = "CC0-1.0"
attribution = "synthetic"
[name]
de = "Kachel"
en = "Tile"
[description]
de = "Benchmark"
en = "Benchmark"
[location]
lat = {demo_build.LOCATION[0]}
lon = {demo_build.LOCATION[1]}
[[epochs]]
id = "{epoch}"
capture = "airborne-lidar"
sensor = "simulated"
operator = "benchmark"
[[epochs.sources]]
path = "sources/{laz.name}"
''', encoding="utf-8")
    return manifest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000_000)
    ap.add_argument("--keep", type=Path, default=None, help="keep the tile and archive here")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="stadtzeit-bench-pipeline-"))
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    manifest = make_tile(folder, args.points)
    print(f"tile written in {time.perf_counter() - t0:.1f} s: {manifest}")
    archive = folder / "archive"
    shutil.rmtree(archive, ignore_errors=True)
    exe = Path(sys.executable).with_name("stadtzeit")
    t0 = time.perf_counter()
    subprocess.run([str(exe), "ingest", str(manifest), "--archive", str(archive), "--init"],
                   check=True)
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    from archive import Archive
    prov = Archive.open(archive).read("bench-tile").read_json(
        "epochs/2019-06-15/epoch.json")
    result = {"points_in": prov["statistics"]["cleaning"]["points_in"],
              "faces": prov["statistics"]["faces"], "wall_s": round(wall, 1),
              "peak_rss_mb": round(peak_mb), "stages_s": prov["timings_s"]}
    slowest = max(prov["timings_s"], key=prov["timings_s"].get)
    print(json.dumps(result, indent=2))
    print(f"slowest stage: {slowest} ({prov['timings_s'][slowest]:.1f} s)")
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
