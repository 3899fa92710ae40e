"""The privacy step's quality and cost, as docs/PRIVACY.md reports them.

1. Faces and plates on the labelled set (processing.privacy.samples, seeds 0..N-1): recall per
   kind and size class, precision, blurred area / true area, detections left after blurring,
   seconds per megapixel.
2. Transient points on simulated courtyards (processing.demo.courtyard, TLS and ALS, seeds
   0..N-1): share of transient points removed, share of static points removed.
3. Cost in ingest: the demo (``--density``) ingested with the privacy step on and off (every
   epoch), the step's own seconds from epoch.json, and the ratio of the totals.

    .venv/bin/python benchmarks/bench_privacy.py [--seeds 3] [--density 0.3] [--skip-ingest]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _hit(t, boxes) -> bool:
    for b in boxes:
        ix = max(0, min(t.x + t.w, b.x + b.w) - max(t.x, b.x))
        iy = max(0, min(t.y + t.h, b.y + b.h) - max(t.y, b.y))
        if b.kind == t.kind and ix * iy >= 0.5 * t.area:
            return True
    return False


def images_bench(seeds: int) -> dict:
    from processing.privacy import images, samples

    found = {"face": [], "plate": []}
    by_size: dict[str, list[bool]] = {}
    false_pos = {"face": 0, "plate": 0}
    blurred = true_area = left = n_images = 0
    seconds = megapixels = 0.0
    for seed in range(seeds):
        for s in samples.labelled_set(seed):
            t0 = time.perf_counter()
            r = images.anonymise(s.image)
            seconds += time.perf_counter() - t0
            megapixels += s.image.shape[0] * s.image.shape[1] / 1e6
            n_images += 1
            for t in s.boxes:
                ok = _hit(t, r.boxes)
                found[t.kind].append(ok)
                width = max(t.w, t.h) if t.kind == "plate" else min(t.w, t.h)
                by_size.setdefault(f"{t.kind} {width // 10 * 10:>3}+ px", []).append(ok)
            for b in r.boxes:
                if not any(_hit(t, [b]) or _hit(b, [t]) for t in s.boxes if t.kind == b.kind):
                    false_pos[b.kind] += 1
            blurred += r.blurred_pixels()
            true_area += sum(t.area for t in s.boxes)
            left += len(images.detect(r.image))
    return {
        "images": n_images,
        "recall": {k: round(float(np.mean(v)), 4) for k, v in found.items()},
        "instances": {k: len(v) for k, v in found.items()},
        "recall_by_size": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(by_size.items())},
        "false_positives": false_pos,
        "blurred_over_true_area": round(blurred / true_area, 3),
        "detections_after_blur": left,
        "seconds_per_megapixel": round(seconds / megapixels, 2),
    }


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


def ingest_bench(density: float, texture_size: int) -> dict:
    from archive import Archive
    from processing.demo import build_demo_sources
    from processing.ingest import ingest

    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-privacy-") as tmp:
        src = build_demo_sources(Path(tmp) / "on", density=density, texture_size=texture_size)
        off = build_demo_sources(Path(tmp) / "off", density=density, texture_size=texture_size)
        _privacy_off(off.manifest_path)
        for name, s in (("off", off), ("on", src)):
            archive = Archive.init(Path(tmp) / f"archive-{name}", durable=False)
            t0 = time.perf_counter()
            ingest(s.manifest_path, archive, user="bench")
            total = time.perf_counter() - t0
            head = archive.read("gasometer-demo")
            step = {}
            for e in ("2019-06-15", "2021-09-01", "2024-05-20"):
                ej = head.read_json(f"epochs/{e}/epoch.json")
                step[e] = {"privacy_s": ej["timings_s"].get("privacy"),
                           "record": ej["statistics"].get("privacy")}
            out[name] = {"seconds": round(total, 1), "epochs": step}
    out["ratio_on_over_off"] = round(out["on"]["seconds"] / out["off"]["seconds"], 3)
    out["step_seconds"] = round(sum((v["privacy_s"] or 0) for v in out["on"]["epochs"].values()),
                                2)
    out["step_share_of_on"] = round(out["step_seconds"] / out["on"]["seconds"], 3)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--density", type=float, default=0.3)
    ap.add_argument("--texture-size", type=int, default=2048)
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--only", choices=["images", "ghosts", "ingest"])
    args = ap.parse_args(argv)
    result = {}
    if args.only in (None, "ghosts"):
        result["ghosts"] = ghosts_bench(args.seeds)
        print(json.dumps(result["ghosts"], indent=1), flush=True)
    if args.only in (None, "images"):
        result["images"] = images_bench(args.seeds)
        print(json.dumps(result["images"], indent=1), flush=True)
    if not args.skip_ingest and args.only in (None, "ingest"):
        result["ingest"] = ingest_bench(args.density, args.texture_size)
        print(json.dumps(result["ingest"], indent=1), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
