"""Change-detection benchmarks, side by side with peers (medians of --repeat runs).

    .venv/bin/python benchmarks/bench_change.py                 # 1M and 10M points
    .venv/bin/python benchmarks/bench_change.py --quick         # 100k and 1M
    .venv/bin/python benchmarks/bench_change.py --json out.json

Data: the synthetic city block of ``processing.change.synthetic`` (200 x 200 m, ground + 16
buildings, walls scanned; the second epoch removes one building, adds one and is shifted by
(5, -3, 2) cm).

- C2C, compared -> reference: ours (``c2c``) vs a bare pykdtree float32 query (tree + k=1,
  the floor for any pykdtree-based C2C) vs CloudCompare's ``-C2C_DIST`` when ``CloudCompare``
  is on PATH (run on binary PLY files; timed from the shell with and without ``-C2C_DIST``,
  and CloudCompare's own logged distance times).
- M3C2, every reference point a core point, at the 1M block's density: ours vs py4dgeo
  when importable, same parameters (normal radius 0.5 m, cylinder radius 0.25 m,
  half-length 0.25 m - py4dgeo's default max_distance - and 1.0 m).
- Peak memory of a child process (VmHWM: ru_maxrss survives exec and would report the
  parent's size): C2C at the largest size, M3C2 (ours and py4dgeo) at the M3C2 size.

Wall-clock and CPU seconds (user + sys, all threads) are both reported: on a shared machine
the CPU time is the steadier measure of work.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import shutil
import statistics as stats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from processing.change import M3C2Params, c2c, m3c2  # noqa: E402
from processing.change.synthetic import city_block_pair  # noqa: E402


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        c0, t0 = cpu_seconds(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(cpu_seconds() - c0)
    return {"wall": stats.median(walls), "cpu": stats.median(cpus), "runs": repeat}


def epochs(n: int, size: float = 200.0) -> tuple[np.ndarray, np.ndarray]:
    """The epoch pair, cached as two .npy files (np.load reads them without a second copy,
    so a child's peak RSS is the method's, not the loader's)."""
    tag = "" if size == 200.0 else f"-{size:g}m"
    stem = Path(tempfile.gettempdir()) / f"stadtzeit-bench-change-{n}{tag}"
    fa, fb = stem.with_suffix(".a.npy"), stem.with_suffix(".b.npy")
    if fa.exists() and fb.exists():
        return np.load(fa), np.load(fb)
    a, b, _ = city_block_pair(n, size=size, seed=0)
    np.save(fa, a)
    np.save(fb, b)
    return a, b


def bare_pykdtree(cmp_: np.ndarray, ref: np.ndarray) -> None:
    from pykdtree.kdtree import KDTree
    o = ref.mean(axis=0)
    tree = KDTree(np.ascontiguousarray(ref - o, dtype=np.float32), leafsize=16)
    tree.query(np.ascontiguousarray(cmp_ - o, dtype=np.float32), k=1)


def write_ply(path: Path, xyz: np.ndarray) -> None:
    """Binary little-endian PLY of float32 vertices (Debian's CloudCompare 2.11 has no LAS
    reader; PLY is its fastest built-in format; it keeps coordinates in float32 anyway)."""
    head = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(xyz)}\n"
            "property float x\nproperty float y\nproperty float z\nend_header\n")
    with open(path, "wb") as f:
        f.write(head.encode("ascii"))
        f.write(np.ascontiguousarray(xyz, dtype="<f4").tobytes())


def cloudcompare_c2c(a: np.ndarray, b: np.ndarray, repeat: int) -> dict[str, Any] | None:
    exe = shutil.which("CloudCompare") or shutil.which("cloudcompare")
    if exe is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        ra, rb = Path(tmp) / "ref.ply", Path(tmp) / "cmp.ply"
        write_ply(ra, a)
        write_ply(rb, b)
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        # The first cloud is the compared one, the second the reference.
        cmd = [exe, "-SILENT", "-AUTO_SAVE", "OFF", "-O", "-GLOBAL_SHIFT", "0", "0", "0",
               str(rb), "-O", "-GLOBAL_SHIFT", "0", "0", "0", str(ra), "-C2C_DIST"]
        load_cmd = cmd[:-1]
        out: dict[str, Any] = timed(lambda: subprocess.run(cmd, env=env, check=True,
                                                           capture_output=True), repeat)
        load = timed(lambda: subprocess.run(load_cmd, env=env, check=True,
                                            capture_output=True), repeat)
        out["load_only_wall"] = load["wall"]
        out["c2c_minus_load_wall"] = out["wall"] - load["wall"]
        logf = Path(tmp) / "log.txt"
        subprocess.run([exe, "-SILENT", "-LOG_FILE", str(logf)] + cmd[2:], env=env,
                       capture_output=True, check=True)
        text = logf.read_text(errors="replace") if logf.exists() else ""
        # CloudCompare's own timings: approximate (octree) pass, exact pass, whole command.
        secs = [float(x) for x in re.findall(r"Distances\] Time: ([\d.]+) s", text)]
        done = re.findall(r"Processed finished in ([\d.]+) s", text)
        out["own_distance_seconds"] = sum(secs) if secs else None
        out["own_total_seconds"] = float(done[-1]) if done else None
        out["version"] = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "cloudcompare"],
                                        capture_output=True, text=True).stdout or "?"
    return out


def py4dgeo_m3c2(a: np.ndarray, b: np.ndarray, p: M3C2Params,
                 cores: np.ndarray | None = None) -> np.ndarray:
    import py4dgeo
    e1, e2 = py4dgeo.Epoch(a), py4dgeo.Epoch(b)
    e1.build_kdtree()
    e2.build_kdtree()
    alg = py4dgeo.M3C2(epochs=(e1, e2), corepoints=a if cores is None else cores,
                       cyl_radius=p.cylinder_radius,
                       normal_radii=[p.normal_radius], max_distance=p.max_depth)
    return alg.run()[0]


def m3c2_cores_interleaved(n_points: int, core_counts: list[int], repeat: int,
                           with_py4dgeo: bool) -> dict[str, Any]:
    """M3C2 at several core counts on n-point epochs, ours and py4dgeo alternating inside
    each repeat (same load for both); medians of wall and CPU seconds."""
    a, b = epochs(n_points, size=200.0 * float(np.sqrt(n_points / 1e6)))
    p = M3C2Params(0.5, 0.25, 0.25)
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {}
    for nc in core_counts:
        cores = a[np.sort(rng.choice(len(a), size=min(nc, len(a)), replace=False))]
        runs: dict[str, list[tuple[float, float]]] = {"ours": [], "py4dgeo": []}
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), cpu_seconds()
            m3c2(a, b, p, cores=cores)
            runs["ours"].append((time.perf_counter() - t0, cpu_seconds() - c0))
            if with_py4dgeo:
                t0, c0 = time.perf_counter(), cpu_seconds()
                py4dgeo_m3c2(a, b, p, cores)
                runs["py4dgeo"].append((time.perf_counter() - t0, cpu_seconds() - c0))
        row = {k: {"wall": float(np.median([w for w, _ in v])),
                   "cpu": float(np.median([c for _, c in v]))} for k, v in runs.items() if v}
        if "py4dgeo" in row:
            row["ratio_ours_to_py4dgeo"] = row["ours"]["wall"] / row["py4dgeo"]["wall"]
        out[str(nc)] = row
        print(f"M3C2 {nc:,} cores on {n_points:,}-point epochs: " + ", ".join(
            f"{k} {v['wall']:.2f} s (cpu {v['cpu']:.2f})" for k, v in row.items()
            if isinstance(v, dict)), flush=True)
    return out


def dod_scenes(seeds: list[int], repeat: int) -> dict[str, Any]:
    """DoD on the generated airborne scenes (processing.change.scenes): worst volume error
    per change, regions on unchanged objects or nowhere, and the median time."""
    from processing.change import method_regions, scenes

    out: dict[str, Any] = {}
    for density in (8.0, 2.4):
        for cell in (0.5, 1.0, 2.0):
            worst: dict[str, float] = {}
            false = 0
            times = []
            for seed in seeds:
                for sc in (scenes.random_scene(seed, density=density),
                           scenes.issue_scene(seed, density=density)):
                    for _ in range(repeat):
                        t0 = time.perf_counter()
                        _, reg = method_regions.dod_regions(sc.epoch1, sc.epoch2, cell_size=cell,
                                                            min_area=4.0, min_volume=1.0)
                        times.append(time.perf_counter() - t0)
                    claimed = set()
                    for ch in sc.changes:
                        found = [r for r in reg.regions
                                 if ch.shape.contains(r.centroid[0], r.centroid[1], 2.0)]
                        claimed |= {r.id for r in found}
                        v = sum(abs(r.volume) for r in found if r.sign == ch.sign)
                        err = 100.0 * (v - ch.volume) / ch.volume
                        key = ch.name
                        if abs(err) > abs(worst.get(key, 0.0)):
                            worst[key] = err
                    false += sum(r.id not in claimed for r in reg.regions)
            row = {"worst_volume_error_pct": worst, "false_regions": false,
                   "scenes": 2 * len(seeds), "median_s": float(np.median(times))}
            out[f"{density}@{cell}"] = row
            print(f"DoD density {density}/m², cell {cell} m, {2 * len(seeds)} scenes: worst "
                  + ", ".join(f"{k} {v:+.1f} %" for k, v in worst.items())
                  + f"; false regions {false}; {row['median_s']:.2f} s", flush=True)
    return out


def child_peak(kind: str, n: int, cores: int = 0) -> dict[str, Any]:
    """Run one method in a fresh interpreter (this file with --child): its peak RSS."""
    res = subprocess.run([sys.executable, __file__, "--child", kind, str(n), str(cores)],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def proc_status_mb(field: str) -> float:
    """VmRSS / VmHWM of this process in MB.  (ru_maxrss is not reset by exec, so a child
    started from a big parent would report the parent's size.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_child(kind: str, n: int, n_cores: int = 0) -> None:
    a, b = epochs(n) if kind == "c2c" else epochs(n, size=200.0 * float(np.sqrt(n / 1e6)))
    cores = None
    if n_cores:
        rng = np.random.default_rng(0)
        cores = a[np.sort(rng.choice(len(a), size=min(n_cores, len(a)), replace=False))]
    base = proc_status_mb("VmRSS")
    t0 = time.perf_counter()
    if kind == "c2c":
        c2c(b, a)
    elif kind == "m3c2":
        m3c2(a, b, M3C2Params(0.5, 0.25, 0.25), cores=cores)
    elif kind == "py4dgeo-m3c2":
        py4dgeo_m3c2(a, b, M3C2Params(0.5, 0.25, 0.25), cores)
    wall = time.perf_counter() - t0
    print(json.dumps({"kind": kind, "n": n, "wall": wall, "peak_rss_mb": proc_status_mb("VmHWM"),
                      "rss_before_mb": base, "input_mb": (a.nbytes + b.nbytes) / 2**20}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100k and 1M points instead of 1M/10M")
    ap.add_argument("--sizes", type=float, nargs="*", help="epoch sizes for C2C")
    ap.add_argument("--m3c2-size", type=float, help="epoch size for M3C2 (default 1M)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--skip-peers", action="store_true", help="no CloudCompare / py4dgeo")
    ap.add_argument("--no-cloudcompare", action="store_true",
                    help="skip CloudCompare (slow: ~3 min per 10M run)")
    ap.add_argument("--parts", nargs="*", default=["c2c", "m3c2", "memory"],
                    choices=["c2c", "m3c2", "memory", "dod-scenes", "m3c2-cores"],
                    help="what to run (default: c2c m3c2 memory); dod-scenes: DoD on the "
                    "generated airborne scenes; m3c2-cores: 10k/100k/1M cores, ours and "
                    "py4dgeo interleaved, with peak memory")
    ap.add_argument("--cores", type=int, nargs="*", default=[10_000, 100_000, 1_000_000],
                    help="core counts for the m3c2-cores part")
    ap.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3, 4, 5],
                    help="scene seeds for the dod-scenes part")
    ap.add_argument("--child", nargs=3, metavar=("KIND", "N", "CORES"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    sizes = [int(s) for s in (args.sizes or ([1e5, 1e6] if args.quick else [1e6, 1e7]))]
    m_size = int(args.m3c2_size or (1e5 if args.quick else 1e6))
    out: dict[str, Any] = {"machine": {"cpus": os.cpu_count(),
                                       "load": os.getloadavg(), "python": sys.version.split()[0]},
                           "c2c": {}, "m3c2": {}, "memory": {}}
    for n in sizes if "c2c" in args.parts else []:
        a, b = epochs(n)
        row: dict[str, Any] = {
            "ours": timed(lambda a=a, b=b: c2c(b, a), args.repeat),
            "pykdtree_bare": timed(lambda a=a, b=b: bare_pykdtree(b, a), args.repeat)}
        if not (args.skip_peers or args.no_cloudcompare):
            cc = cloudcompare_c2c(a, b, args.repeat)
            if cc is not None:
                row["cloudcompare"] = cc
        out["c2c"][n] = row
        print(f"C2C {n:>10,}: " + ", ".join(
            f"{k} {v['wall']:.2f} s (cpu {v['cpu']:.2f})" for k, v in row.items()), flush=True)
    # M3C2 at the density of the 1M-point block (~14 points/m^2 with walls) whatever the size,
    # so that the radii below keep their meaning: the block shrinks with fewer points.
    a, b = epochs(m_size, size=200.0 * float(np.sqrt(m_size / 1e6)))
    for depth in (0.25, 1.0) if "m3c2" in args.parts else ():
        p = M3C2Params(0.5, 0.25, depth)
        row = {"ours": timed(lambda p=p: m3c2(a, b, p), args.repeat)}
        if not args.skip_peers:
            try:
                import py4dgeo  # noqa: F401
            except ImportError:
                pass
            else:
                row["py4dgeo"] = timed(lambda p=p: py4dgeo_m3c2(a, b, p), args.repeat)
                ours = m3c2(a, b, p).distance
                theirs = py4dgeo_m3c2(a, b, p)
                ok = np.isfinite(ours) & np.isfinite(theirs)
                row["agreement"] = {
                    "both_valued": int(ok.sum()),
                    "median_abs_diff": float(np.median(np.abs(ours[ok] - theirs[ok]))),
                    "ours_nan_share": float(np.isnan(ours).mean()),
                    "py4dgeo_nan_share": float(np.isnan(theirs).mean())}
        out["m3c2"][f"{m_size}@{depth}"] = row
        print(f"M3C2 {m_size:,} cores, half-length {depth}: " + ", ".join(
            f"{k} {v['wall']:.2f} s (cpu {v['cpu']:.2f})" for k, v in row.items()
            if "wall" in v), flush=True)
    big = max(sizes)
    runs = [("c2c", big), ("m3c2", m_size)]
    if not args.skip_peers and importlib.util.find_spec("py4dgeo") is not None:
        runs.append(("py4dgeo-m3c2", m_size))
    for kind, n in runs if "memory" in args.parts else ():
        out["memory"][kind] = child_peak(kind, n)
        mem = out["memory"][kind]
        print(f"peak RSS {kind} {n:,} vs {n:,}: {mem['peak_rss_mb']:.0f} MB (after loading "
              f"the inputs {mem['rss_before_mb']:.0f} MB, inputs {mem['input_mb']:.0f} MB)",
              flush=True)
    if "dod-scenes" in args.parts:
        out["dod_scenes"] = dod_scenes(args.seeds, 1)
    if "m3c2-cores" in args.parts:
        has_py4dgeo = not args.skip_peers and importlib.util.find_spec("py4dgeo") is not None
        out["m3c2_cores"] = m3c2_cores_interleaved(m_size, args.cores, args.repeat,
                                                   has_py4dgeo)
        out["m3c2_cores_memory"] = {}
        for nc in args.cores:
            for kind in ("m3c2", "py4dgeo-m3c2") if has_py4dgeo else ("m3c2",):
                mem = child_peak(kind, m_size, nc)
                out["m3c2_cores_memory"][f"{kind}@{nc}"] = mem
                print(f"peak RSS {kind} {nc:,} cores: {mem['peak_rss_mb']:.0f} MB (inputs "
                      f"loaded {mem['rss_before_mb']:.0f} MB)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
