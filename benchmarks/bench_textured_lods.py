"""Textured levels of detail: cost and fidelity of the baked atlases (issue 10).

Side by side on the same meshes: ``make_lods`` of the textured mesh against ``make_lods`` of
the same mesh without its texture (the peer: decimation alone), medians of ``--runs``; and per
level the faces against the target, the texture edge and the share of lod0 surface samples
whose colour differs by more than 60/255.

    PYTHONPATH=. python benchmarks/bench_textured_lods.py [--faces 50000 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from processing import lod, texbake
from processing.readers import read_mesh

sys.path.insert(0, str(Path(__file__).parent))
from bench_stages import make_mesh  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "mesh"


def median_time(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--faces", type=int, nargs="*", default=[50_000, 200_000])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    meshes = [(name, read_mesh(SHARED / name)) for name in ("fuze.obj", "fran_cut.vtk")
              if (SHARED / name).exists()]
    for n in args.faces:
        grid = make_mesh(n, textured=True)
        # bench_stages' texture is per-texel noise, which any smaller texture must lose; a
        # photo-like texture (structure over tens of texels) measures what the LODs keep
        small = np.random.default_rng(5).integers(0, 256, (48, 48, 3), dtype=np.uint8)
        grid.texture = np.asarray(Image.fromarray(small).resize((1024, 1024),
                                                                Image.Resampling.BICUBIC))
        meshes.append((f"textured grid {n:,}", grid))
    print("| mesh | faces | textured (s) | untextured peer (s) | ratio | faces per level "
          "| texture edge | samples > 60/255 |")
    print("|---|---|---|---|---|---|---|---|")
    for name, mesh in meshes:
        plain = dataclasses.replace(mesh, uv=None, texture=None)
        t_tex, lods = median_time(lambda m=mesh: lod.make_lods(m, texture_size=4096), args.runs)
        t_plain, _ = median_time(lambda m=plain: lod.make_lods(m), args.runs)
        bad = [f"{100 * np.mean(texbake.colour_difference(lods[0], x) > 60):.1f} %"
               for x in lods[1:]]
        print(f"| {name} | {mesh.n_faces:,} | {t_tex:.2f} | {t_plain:.2f} | "
              f"{t_tex / t_plain:.1f} | {' / '.join(str(x.n_faces) for x in lods)} | "
              f"{' / '.join(str(max(x.texture.shape[:2])) for x in lods)} | "
              f"{' / '.join(bad)} |", flush=True)


if __name__ == "__main__":
    main()
