"""The privacy step's quality and cost, as docs/PRIVACY.md reports them.

1. Faces and plates on the labelled set (processing.privacy.samples, seeds 0..N-1), searched
   as photos (whole image, every turn): recall per kind and size class, false alarms, blurred
   area / true area, detections a full search still finds after blurring, seconds — for the
   current code and, side by side in the same run, the texture search of ``--old-rev``.
2. The same images as the charts of a textured mesh (``samples.textured_atlas``: walls in
   their turn, every fourth a piece of ground): the current code searches each chart in the
   turn its UVs give (``charts.regions``), the old code the whole atlas in every turn.
3. The demo's 2048² photogrammetry atlas: both searches, ``--repeat`` times interleaved.
4. Cost in ingest: the demo (``--density``) ingested with the privacy step on and off (every
   epoch), ``--repeat`` times interleaved, wall and CPU seconds (all threads); the step's own
   seconds from epoch.json.  Medians.

    .venv/bin/python benchmarks/bench_privacy.py [--seeds 3] [--density 0.3] [--repeat 3]
        [--only images|atlas|demo|ghosts|ingest] [--old-rev 29bb614]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from statistics import median

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: the texture search before the per-chart turns and the local re-check (issue 13)
OLD_REV = "29bb614"


def old_images(rev: str):
    """``processing/privacy/images.py`` as it was at ``rev`` (git), as a module."""
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:processing/privacy/images.py"],
                         capture_output=True, text=True, check=True).stdout
    module = types.ModuleType(f"images_{rev}")
    sys.modules[module.__name__] = module
    exec(compile(src, f"images@{rev}", "exec"), module.__dict__)
    return module


def _hit(t, boxes) -> bool:
    for b in boxes:
        ix = max(0, min(t.x + t.w, b.x + b.w) - max(t.x, b.x))
        iy = max(0, min(t.y + t.h, b.y + b.h) - max(t.y, b.y))
        if b.kind == t.kind and ix * iy >= 0.5 * t.area:
            return True
    return False


class Score:
    """Recall, false alarms, blurred area and leftovers over a set of anonymised images."""

    def __init__(self):
        self.found = {"face": [], "plate": []}
        self.by_size: dict[str, list[bool]] = {}
        self.false_pos = {"face": 0, "plate": 0}
        self.blurred = self.true_area = self.left = self.images = 0
        self.wall = self.cpu = self.megapixels = 0.0

    def add(self, image, truth, result, wall, cpu, left) -> None:
        self.images += 1
        self.wall += wall
        self.cpu += cpu
        self.megapixels += image.shape[0] * image.shape[1] / 1e6
        for t in truth:
            ok = _hit(t, result.boxes)
            self.found[t.kind].append(ok)
            width = max(t.w, t.h) if t.kind == "plate" else min(t.w, t.h)
            self.by_size.setdefault(f"{t.kind} {width // 10 * 10:>3}+ px", []).append(ok)
        for b in result.boxes:
            if not any(_hit(t, [b]) or _hit(b, [t]) for t in truth if t.kind == b.kind):
                self.false_pos[b.kind] += 1
        self.blurred += result.blurred_pixels()
        self.true_area += sum(t.area for t in truth)
        self.left += left

    def summary(self) -> dict:
        return {
            "images": self.images,
            "recall": {k: round(float(np.mean(v)), 4) for k, v in self.found.items()},
            "instances": {k: len(v) for k, v in self.found.items()},
            "recall_by_size": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(self.by_size.items())},
            "false_positives": self.false_pos,
            "blurred_over_true_area": round(self.blurred / self.true_area, 3),
            "detections_after_blur_full_search": self.left,
            "seconds": round(self.wall, 1), "cpu_seconds": round(self.cpu, 1),
            "cpu_seconds_per_megapixel": round(self.cpu / self.megapixels, 2)}


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def images_bench(seeds: int, old_rev: str) -> dict:
    """The labelled set as photos: old and new, image by image, side by side."""
    from processing.privacy import images, samples

    old = old_images(old_rev)
    score = {"new": Score(), f"old ({old_rev})": Score()}
    for seed in range(seeds):
        for s in samples.labelled_set(seed):
            for name, module in (("new", images), (f"old ({old_rev})", old)):
                r, wall, cpu = _timed(lambda m=module, s=s: m.anonymise(s.image))
                score[name].add(s.image, s.boxes, r, wall, cpu, len(images.detect(r.image)))
    return {k: v.summary() for k, v in score.items()}


def atlas_bench(seeds: int, old_rev: str) -> dict:
    """The labelled set as the charts of textured meshes: new per chart, old whole atlas."""
    from processing.privacy import charts, images, samples

    old = old_images(old_rev)
    score = {"new": Score(), f"old ({old_rev})": Score()}
    left_in_regions = 0
    for seed in range(seeds):
        mesh, truth = samples.textured_atlas(seed)
        regions = charts.regions(mesh)
        tex = mesh.texture
        runs = (("new", lambda t=tex, r=regions: images.anonymise(t, regions=r)),
                (f"old ({old_rev})", lambda t=tex: old.anonymise(t)))
        for name, fn in runs:
            r, wall, cpu = _timed(fn)
            score[name].add(mesh.texture, truth, r, wall, cpu, len(images.detect(r.image)))
            if name == "new":
                left_in_regions += len(images.detect(r.image, regions=regions))
    out = {k: v.summary() for k, v in score.items()}
    out["new"]["detections_after_blur_in_its_regions"] = left_in_regions
    return out


def demo_atlas_bench(repeat: int, old_rev: str, texture_size: int) -> dict:
    """The demo's photogrammetry atlas (as ingest reads it): old and new, interleaved."""
    from processing.demo import build_demo_sources
    from processing.privacy import charts, images
    from processing.readers import read_mesh

    old = old_images(old_rev)
    with tempfile.TemporaryDirectory(prefix="bench-privacy-") as tmp:
        src = build_demo_sources(Path(tmp), density=0.05, texture_size=texture_size)
        mesh = read_mesh(next(p for p in src.sources["2024-05-20"] if p.suffix == ".obj"))
    mesh.frame = "site"          # projected CRS, z up: what georeferencing gives the step
    rows: dict[str, list] = {"new": [], f"old ({old_rev})": []}
    boxes = {}
    for _ in range(repeat):
        for name, fn in (("new", lambda: images.anonymise(mesh.texture,
                                                          regions=charts.regions(mesh))),
                         (f"old ({old_rev})", lambda: old.anonymise(mesh.texture))):
            r, wall, cpu = _timed(fn)
            rows[name].append((wall, cpu))
            boxes[name] = r.counts() | {"left_full_search": len(images.detect(r.image))}
    return {k: {"seconds": round(median(w for w, _ in v), 2),
                "cpu_seconds": round(median(c for _, c in v), 2), "found": boxes[k]}
            for k, v in rows.items()}


def ghosts_bench(seeds: int) -> dict:
    from processing.demo.courtyard import courtyard
    from processing.privacy import ghosts

    out = {}
    for kind in ("tls", "als"):
        rows = []
        for seed in range(seeds):
            c = courtyard(seed, kind)
            model = ghosts.STATION if kind == "tls" else ghosts.VERTICAL
            t0 = time.perf_counter()
            masks = ghosts.ghost_masks([ghosts.Scan(s.xyz, model, s.sensor, s.first)
                                        for s in c.scans])
            dt = time.perf_counter() - t0
            m = np.concatenate(masks)
            tr = np.concatenate([s.transient for s in c.scans])
            rows.append((int(tr.sum()), int(m[tr].sum()), int((~tr).sum()), int(m[~tr].sum()),
                         len(m), dt))
        out[kind] = {
            "scenes": seeds, "transient_points": sum(r[0] for r in rows),
            "transient_removed": round(sum(r[1] for r in rows) / max(1, sum(r[0] for r in rows)),
                                       4),
            "worst_scene_transient_removed": round(min(r[1] / max(1, r[0]) for r in rows), 4),
            "static_removed": round(sum(r[3] for r in rows) / sum(r[2] for r in rows), 5),
            "worst_scene_static_removed": round(max(r[3] / r[2] for r in rows), 5),
            "seconds_per_million_points": round(sum(r[5] for r in rows)
                                                / (sum(r[4] for r in rows) / 1e6), 2)}
    return out


def _privacy_off(manifest: Path) -> None:
    """Every epoch of the demo manifest with the step off (the same file otherwise)."""
    text = manifest.read_text()
    text = text.replace("[epochs.privacy]\nenabled = true", "[epochs.privacy]\nenabled = false")
    text = re.sub(r'(\npreset = "(tls|photogrammetry)")',
                  r'\1\n\n[epochs.privacy]\nenabled = false', text)
    manifest.write_text(text)


def ingest_bench(density: float, texture_size: int, repeat: int) -> dict:
    from archive import Archive
    from processing.demo import build_demo_sources
    from processing.ingest import ingest

    rows: dict[str, list] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory(prefix="bench-privacy-") as tmp:
        src = build_demo_sources(Path(tmp) / "on", density=density, texture_size=texture_size)
        off = build_demo_sources(Path(tmp) / "off", density=density, texture_size=texture_size)
        _privacy_off(off.manifest_path)
        for i in range(repeat):
            for name, s in (("off", off), ("on", src)):
                archive = Archive.init(Path(tmp) / f"archive-{name}-{i}", durable=False)
                _, wall, cpu = _timed(lambda s=s, a=archive: ingest(s.manifest_path, a,
                                                                    user="bench"))
                head = archive.read("gasometer-demo")
                step = {}
                for e in ("2019-06-15", "2021-09-01", "2024-05-20"):
                    ej = head.read_json(f"epochs/{e}/epoch.json")
                    rec = ej["statistics"].get("privacy") or {}
                    step[e] = {"seconds": rec.get("seconds"), "textures": rec.get("textures")}
                rows[name].append({"seconds": wall, "cpu_seconds": cpu, "epochs": step})
    on = rows["on"]
    textures = [sum((e["seconds"] or {}).get("textures", 0) for e in r["epochs"].values())
                for r in on]
    points = [sum((e["seconds"] or {}).get("points", 0) for e in r["epochs"].values())
              for r in on]
    off_wall = median(r["seconds"] for r in rows["off"])
    return {
        "repeat": repeat,
        "off": {"seconds": round(off_wall, 1),
                "cpu_seconds": round(median(r["cpu_seconds"] for r in rows["off"]), 1),
                "runs": [round(r["seconds"], 1) for r in rows["off"]]},
        "on": {"seconds": round(median(r["seconds"] for r in on), 1),
               "cpu_seconds": round(median(r["cpu_seconds"] for r in on), 1),
               "runs": [round(r["seconds"], 1) for r in on],
               "texture_step_seconds": [round(t, 2) for t in textures],
               "point_step_seconds": [round(t, 2) for t in points],
               "2024_textures": on[-1]["epochs"]["2024-05-20"]["textures"]},
        "texture_step_over_off": round(median(textures) / off_wall, 3),
        "point_step_over_off": round(median(points) / off_wall, 3),
        "on_over_off": round(median(r["seconds"] for r in on) / off_wall, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--density", type=float, default=0.3)
    ap.add_argument("--texture-size", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--old-rev", default=OLD_REV)
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--only", choices=["images", "atlas", "demo", "ghosts", "ingest"])
    args = ap.parse_args(argv)
    parts = {
        "ghosts": lambda: ghosts_bench(args.seeds),
        "images": lambda: images_bench(args.seeds, args.old_rev),
        "atlas": lambda: atlas_bench(args.seeds, args.old_rev),
        "demo": lambda: demo_atlas_bench(args.repeat, args.old_rev, args.texture_size),
        "ingest": lambda: ingest_bench(args.density, args.texture_size, args.repeat)}
    for name, run in parts.items():
        if args.only not in (None, name) or (name == "ingest" and args.skip_ingest):
            continue
        print(f"== {name}", flush=True)
        print(json.dumps(run(), indent=1), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
