"""Read a large LAZ: stadtzeit's read_points against laspy + lazrs on their own.

    .venv/bin/python benchmarks/bench_read_laz.py [--points 10000000] [--runs 3]

Makes (once, cached in benchmarks/.cache/) a synthetic LAS 1.4 point format 7 LAZ of a city
block, then times, each in a fresh child process so that peak memory (ru_maxrss, which sees
the C allocations of lazrs and numpy) belongs to one measurement:

- peer: ``laspy.read(path, laz_backend=LazrsParallel)`` + ``las.xyz`` (float64 coordinates)
- ours: ``processing.readers.read_points(path)`` (float64 xyz + rgb, intensity,
  classification, gps_time and return numbers, CRS parsed)

Prints medians of the runs, the ratio peer/ours of the times (>= 0.9 is the target: our
throughput at least 90 % of lazrs's own parallel decode) and the peak memory of each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CACHE = Path(__file__).resolve().parent / ".cache"


def make_laz(path: Path, n: int) -> None:
    """A 200 x 200 m block scanned in lines: ground, a few buildings, noise; RGB, classes."""
    import laspy

    rng = np.random.default_rng(42)
    lines = max(n // 2000, 1)
    t = np.arange(n) / n
    x = 350000.0 + 200.0 * ((np.arange(n) % 2000) / 2000.0) + rng.normal(0, 0.02, n)
    y = 5708000.0 + 200.0 * (np.arange(n) // 2000) / lines + rng.normal(0, 0.02, n)
    z = 40.0 + 0.5 * np.sin((x - 350000.0) / 15.0) + rng.normal(0, 0.01, n)
    cls = np.full(n, 2, np.uint8)
    for bx, by, h in ((40, 40, 25.0), (120, 60, 12.0), (70, 140, 60.0)):
        inside = (np.abs(x - 350000 - bx) < 20) & (np.abs(y - 5708000 - by) < 15)
        z[inside] += h
        cls[inside] = 6
    header = laspy.LasHeader(point_format=7, version="1.4")
    header.scales = np.array([0.001, 0.001, 0.001])
    header.offsets = np.array([350000.0, 5708000.0, 0.0])
    from pyproj import CRS
    header.add_crs(CRS.from_user_input("EPSG:25832+7837"))
    las = laspy.LasData(header)
    las.x, las.y, las.z = x, y, z
    las.classification = cls
    las.intensity = (1000 + 500 * np.sin(x) + rng.integers(0, 200, n)).astype(np.uint16)
    las.red = ((x % 50) * 1300).astype(np.uint16)
    las.green = ((y % 50) * 1300).astype(np.uint16)
    las.blue = np.where(cls == 6, 30000, 12000).astype(np.uint16)
    las.gps_time = t * 3600.0
    las.return_number = np.ones(n, np.uint8)
    las.number_of_returns = np.ones(n, np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as out:
        las.write(out, do_compress=True, laz_backend=laspy.LazBackend.LazrsParallel)
    os.replace(tmp, path)


def child(which: str, path: str) -> None:
    """One measurement in this process: seconds and peak resident memory, as JSON."""
    import laspy

    import processing.readers.las  # noqa: F401  imports are a once-per-process cost: not timed
    from processing.readers import read_points

    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    if which == "peer":
        las = laspy.read(path, laz_backend=laspy.LazBackend.LazrsParallel)
        xyz = las.xyz
    else:
        xyz = read_points(path).xyz
    seconds = time.perf_counter() - start
    assert xyz.dtype == np.float64
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / 1024                                    # KiB on Linux
    print(json.dumps({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime - cpu0,
                      "peak_mb": peak_mb, "points": int(len(xyz))}))


def measure(which: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", which, str(path)], check=True,
                         capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", nargs=2, metavar=("WHICH", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--make", nargs=2, metavar=("N", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.make:
        make_laz(Path(args.make[1]), int(args.make[0]))
        return

    path = CACHE / f"city_{args.points}.laz"
    if not path.exists():
        t0 = time.perf_counter()
        # In a child too: on Linux a child's ru_maxrss starts from its parent's at fork.
        subprocess.run([sys.executable, __file__, "--make", str(args.points), str(path)],
                       check=True)
        print(f"made {path.name} ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t0:.1f} s")
    print(f"{args.points:,} points, {path.stat().st_size / 1e6:.0f} MB LAZ, "
          f"{os.cpu_count()} CPUs, medians of {args.runs} runs, one child process per run")
    runs: dict[str, list[dict]] = {"peer": [], "ours": []}
    for _ in range(args.runs):                        # interleaved: both see the same noise
        for which in runs:
            runs[which].append(measure(which, path))
    med = {w: statistics.median(r["seconds"] for r in rs) for w, rs in runs.items()}
    cpu = {w: statistics.median(r["cpu"] for r in rs) for w, rs in runs.items()}
    peak = {w: max(r["peak_mb"] for r in rs) for w, rs in runs.items()}
    labels = {"peer": "laspy.read(LazrsParallel) + las.xyz", "ours": "read_points"}
    for w in runs:
        rate = args.points / med[w] / 1e6
        print(f"  {labels[w]:<38} {med[w]:6.2f} s wall  {cpu[w]:6.2f} s CPU  "
              f"{rate:5.2f} Mpts/s  peak {peak[w]:6.0f} MB")
    # CPU time is the steadier figure on a shared machine; wall time is what users wait.
    print(f"  throughput ours / peer = {med['peer'] / med['ours']:.2f} wall, "
          f"{cpu['peer'] / cpu['ours']:.2f} CPU (target >= 0.90)")


if __name__ == "__main__":
    main()
