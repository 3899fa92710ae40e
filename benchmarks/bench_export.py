"""Educator exports (issue 12) on the demo site: how long each takes, against its target.

    .venv/bin/python benchmarks/bench_export.py --archive PATH [--site gasometer-demo]
        [--repeat 3] [--skip-lesson] [--json out.json]

Without --archive the demo is built first (`stadtzeit demo --no-gui` into a temporary folder,
about a minute on 2 cores). Runs headless (EGL/llvmpipe when there is no display).

- still 3840×2160: the newest epoch, LOD0, oblique preset, 2×2 supersampling (so 7680×4320
  pixels are drawn), caption and PNG metadata; also 1920×1080 and 7680×4320 for the ratio.
- turntable: 10 s at 1080p30 (300 frames), H.264 MP4, no supersampling (the video default).
- GLB and STL of LOD0: GLB rewritten from the archive's file; STL at 1:2000 (~0.4 mm grid).
- lesson pack: everything with the default sizes (1080p stills and videos), ZIP included.
Medians of --repeat runs (one run for the turntable and the lesson pack).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from viewer.export.lesson import export_lesson  # noqa: E402
from viewer.export.model import export_glb  # noqa: E402
from viewer.export.print3d import export_print  # noqa: E402
from viewer.export.source import ExportSource  # noqa: E402
from viewer.export.still import export_still  # noqa: E402
from viewer.export.video import export_turntable  # noqa: E402

TARGETS = {"still 3840x2160": 10.0, "turntable 10 s 1080p30": 180.0, "GLB LOD0": 10.0,
           "STL LOD0 1:2000": 10.0, "lesson pack": 300.0}


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archive", type=Path)
    ap.add_argument("--site", default="gasometer-demo")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-lesson", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    archive = args.archive
    if archive is None:
        archive = work / "archive"
        subprocess.run([sys.executable, "-m", "viewer.cli", "demo", "--no-gui", "--out",
                        str(work / "sources"), "--archive", str(archive)], check=True)
    t = time.perf_counter()
    source = ExportSource(archive, args.site)
    epoch = source.site.epoch_ids[-1]
    source.mesh(epoch, 0)
    load = time.perf_counter() - t
    print(f"{source.ref}: LOD0 of {epoch} has {source.mesh(epoch, 0).n_faces} faces "
          f"(opening and reading it: {load:.1f} s, not counted below)")
    rows: dict[str, list[float]] = {}
    for w, h in ((1920, 1080), (3840, 2160), (7680, 4320)):
        rows[f"still {w}x{h}"] = timed(lambda w=w, h=h: export_still(
            source, work / f"s{w}.png", (w, h), burn_caption=True),
            args.repeat if w < 7680 else 1)
    rows["GLB LOD0"] = timed(lambda: export_glb(source, work / "m.glb"), args.repeat)
    rows["STL LOD0 1:2000"] = timed(lambda: export_print(source, work / "m.stl", scale=2000),
                                    args.repeat)
    rows["turntable 10 s 1080p30"] = timed(lambda: export_turntable(
        source, work / "t.mp4", size=(1920, 1080), fps=30, seconds=10.0), 1)
    if not args.skip_lesson:
        rows["lesson pack"] = timed(lambda: export_lesson(source, work / "lesson"), 1)
    base = statistics.median(rows["still 1920x1080"])
    print(f"\n{'export':28s} {'median s':>9s} {'runs':>5s} {'target s':>9s} {'vs 1080p':>9s}")
    result = {}
    for name, times in rows.items():
        med = statistics.median(times)
        target = TARGETS.get(name)
        verdict = "" if target is None else ("  ok" if med < target else "  MISSED")
        print(f"{name:28s} {med:9.2f} {len(times):5d} "
              f"{'' if target is None else f'{target:9.0f}':>9s} {med / base:9.2f}{verdict}")
        result[name] = {"median_s": med, "runs": times, "target_s": target}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
