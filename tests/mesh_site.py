"""Real textured meshes placed at a real site, and one-epoch manifests for them (test helpers).

The shared sample meshes sit at their own local origin; the copies written here are moved to
the Gasometer's origin in UTM 32N so the ingest sees them where the manifest says the site is.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

CRS = "EPSG:25832+7837"
ORIGIN = (352165.0, 5706887.0, 37.0)       # the Gasometer Oberhausen (assets_manifest/sites)
LOCATION = (51.49377, 6.87039)


def placed_obj(src: Path, dest_dir: Path, *, with_mtl: bool = True,
               with_texture: bool = True) -> Path:
    """``src`` (an OBJ) copied into ``dest_dir`` with its vertices moved to ORIGIN, and its MTL
    and texture beside it (each optional)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for line in src.read_text().splitlines():
        if line.startswith("v "):
            x, y, z = (float(t) for t in line.split()[1:4])
            line = f"v {x + ORIGIN[0]:.6f} {y + ORIGIN[1]:.6f} {z + ORIGIN[2]:.6f}"
        lines.append(line)
    obj = dest_dir / src.name
    obj.write_text("\n".join(lines) + "\n")
    mtl = src.with_name(src.name + ".mtl") if src.with_name(src.name + ".mtl").exists() \
        else src.with_suffix(".mtl")
    if with_mtl:
        shutil.copy(mtl, dest_dir / mtl.name)
        if with_texture:
            for line in mtl.read_text().splitlines():
                if line.startswith("map_Kd"):
                    name = line.split(maxsplit=1)[1].strip()
                    shutil.copy(src.parent / name, dest_dir / name)
    return obj


def write_manifest(path: Path, sources: list[str], *, capture: str = "photogrammetry",
                   overrides: str = "", extra: str = "") -> Path:
    """A one-epoch site manifest at the Gasometer listing ``sources`` (paths relative to it)."""
    src = ",\n  ".join(f'{{ path = "{s}", crs = "{CRS}" }}' for s in sources)
    path.write_text(f"""id = "texture-test"
licence = "CC-BY-4.0"
attribution = "test"
crs = "{CRS}"
origin = [{ORIGIN[0]}, {ORIGIN[1]}, {ORIGIN[2]}]
{extra}
[name]
de = "Test"
en = "Test"
[description]
de = "Test"
en = "Test"
[location]
lat = {LOCATION[0]}
lon = {LOCATION[1]}

[[epochs]]
id = "2024-05-02"
capture = "{capture}"
sensor = "test"
operator = "test"
{overrides}
sources = [
  {src},
]
""")
    return path


def chart_box(folder: Path, seed: int, n: int = 12, size: tuple[float, float, float] = (2, 3, 1),
              texture_px: int = 512) -> Path:
    """A box whose 6 sides are 6 UV charts (every edge of the box a seam), ``n`` x ``n``
    quads per side, with a texture of random blocks per chart (a different colour on each side
    of every seam), written as OBJ + MTL + PNG at ORIGIN."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sx, sy, sz = size
    # side: (origin corner, u axis, v axis)
    sides = [((0, 0, 0), (sx, 0, 0), (0, sy, 0)), ((0, 0, sz), (0, sy, 0), (sx, 0, 0)),
             ((0, 0, 0), (0, 0, sz), (sx, 0, 0)), ((0, sy, 0), (sx, 0, 0), (0, 0, sz)),
             ((0, 0, 0), (0, sy, 0), (0, 0, sz)), ((sx, 0, 0), (0, 0, sz), (0, sy, 0))]
    tex = np.zeros((texture_px, texture_px, 3), np.uint8)
    cell = texture_px // 3
    g = np.linspace(0, 1, n + 1)
    v_lines, vt_lines, f_lines = [], [], []
    for k, (o, du, dv) in enumerate(sides):
        cu, cv = (k % 3) * cell, (k // 3) * cell            # chart's corner in pixels
        blocks = rng.integers(0, 256, (2, 2, 3), dtype=np.uint8)
        tex[cv:cv + cell - 8, cu:cu + cell - 8] = np.kron(
            blocks, np.ones(((cell - 8) // 2 + 1, (cell - 8) // 2 + 1, 1), np.uint8)
        )[:cell - 8, :cell - 8]
        base = len(v_lines)
        for b in g:
            for a in g:
                p = np.add(o, np.multiply(du, a) + np.multiply(dv, b)) + ORIGIN
                v_lines.append(f"v {p[0]:.6f} {p[1]:.6f} {p[2]:.6f}")
                u = (cu + 2 + a * (cell - 12)) / texture_px
                v = (cv + 2 + b * (cell - 12)) / texture_px
                vt_lines.append(f"vt {u:.6f} {1 - v:.6f}")      # OBJ's v points up
        for j in range(n):
            for i in range(n):
                q = base + j * (n + 1) + i + 1
                a, b, c, d = q, q + 1, q + n + 2, q + n + 1
                f_lines.append(f"f {a}/{a} {b}/{b} {c}/{c}")
                f_lines.append(f"f {a}/{a} {c}/{c} {d}/{d}")
    Image.fromarray(tex).save(folder / "box.png")
    (folder / "box.mtl").write_text("newmtl box\nKd 1 1 1\nmap_Kd box.png\n")
    obj = folder / "box.obj"
    obj.write_text("mtllib box.mtl\nusemtl box\n" + "\n".join(v_lines + vt_lines + f_lines)
                   + "\n")
    return obj
