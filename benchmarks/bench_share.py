"""Sharing and publishing (issue 15): export/import of a site as a bag, publish, the page.

    .venv/bin/python benchmarks/bench_share.py                      # builds the demo (density 1)
    .venv/bin/python benchmarks/bench_share.py --density 0.3        # the test suite's demo
    .venv/bin/python benchmarks/bench_share.py --archive A --site S # an existing archive
    .venv/bin/python benchmarks/bench_share.py --page               # also time the web page

Side by side, medians of --repeat runs (wall and CPU seconds):
- export (copy + bag + both validations) vs its floor: a plain copy of the object and
  bagit.make_bag(sha512) on it with no validation;
- import (every check + atomic commit) vs its floor: bagit's validation alone plus ocfl-py's
  validation alone (what any careful import must read);
- publish, with its stages (geometric error, tiles, LAZ with licence, STAC, CesiumJS copy);
- with --page: seconds until headless Chromium has drawn the first view (stadtzeit.ready).
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
    args = ap.parse_args()

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
            runs = [open_page(work / "pub0", {}).ready_seconds for _ in range(args.repeat)]
            results["page_first_view_s"] = round(stats.median(runs), 2)
            print(f"page first view: {stats.median(runs):.2f} s (median of {len(runs)})")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
