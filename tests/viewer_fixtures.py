"""Real, small archives for the viewer tests (written through archive's writer, GLB through
processing.gltf), and a display for GUI tests.

The test site is a 2.5D city block on a 1 m grid: epoch 1 has a 15 m building at
x -30..-10, y -10..10 (site frame); epoch 2 has lost it and gained a 10 m building at
x 10..30, y -10..10; epoch 3 (optional) adds 1 cm noise only. Meshes of epoch 1 are tinted
warm and of epoch 2 cool, so a pixel tells which epoch it shows. Change values are exact
(z_b - z_a per vertex), so the heatmap's sign is known everywhere.
"""

from __future__ import annotations

import atexit
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from xvfb import XvfbError, start_xvfb

from archive import Archive
from assets_manifest.models import SiteManifest
from processing.gltf import write_glb
from processing.types import Mesh

SITE = "testblock"
ORIGIN = (351823.0, 5707968.0, 42.0)
CRS = "EPSG:25832+7837"
E1, E2, E3 = "2019-05-02", "2022-08-15", "2024-03-10"
REMOVED = (-30.0, -10.0, -10.0, 10.0, 15.0)   # x0, x1, y0, y1, height (epoch 1 only)
ADDED = (10.0, 30.0, -10.0, 10.0, 10.0)       # epoch 2 onwards
TINT = {E1: (205, 160, 90), E2: (80, 150, 210), E3: (90, 200, 120)}
LOD95 = 0.05
LICENCE = "CC-BY-4.0"
ATTRIBUTION = "© Teststadt (CC BY 4.0)"


def heights(x: np.ndarray, y: np.ndarray, epoch: str) -> np.ndarray:
    z = np.zeros_like(x)
    boxes = [REMOVED] if epoch == E1 else [ADDED]
    for x0, x1, y0, y1, h in boxes:
        z[(x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)] = h
    if epoch == E3:
        z = z + np.where((np.arange(z.size) % 2) == 0, 0.01, -0.01).reshape(z.shape)
    return z


def grid_mesh(epoch: str, n: int = 101, half: float = 50.0) -> Mesh:
    """An n x n vertex heightfield over [-half, half]^2, tinted by epoch."""
    xs = np.linspace(-half, half, n)
    x, y = np.meshgrid(xs, xs)
    z = heights(x, y, epoch)
    v = np.c_[x.ravel(), y.ravel(), z.ravel()]
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), \
        idx[1:, 1:].ravel()
    faces = np.r_[np.c_[a, b, d], np.c_[a, d, c]].astype(np.uint32)
    col = np.empty((len(v), 4), np.uint8)
    col[:, :3] = TINT[epoch]
    col[:, 3] = 255
    roof = v[:, 2] > 1
    col[roof, :3] = (np.array(TINT[epoch]) * 0.8).astype(np.uint8)
    return Mesh(vertices=v.astype(np.float32), faces=faces, frame="site", vertex_colors=col)


def manifest(epochs: list[str], annotations: bool = True) -> dict:
    captures = ["airborne-lidar", "terrestrial-lidar", "photogrammetry"]
    data = {
        "id": SITE,
        "name": {"de": "Testblock Altstadt", "en": "Old town test block"},
        "description": {"de": "Ein Häuserblock zum Testen.", "en": "A city block for tests."},
        "location": {"lat": 51.47, "lon": 6.85},
        "crs": CRS, "origin": list(ORIGIN), "licence": LICENCE, "attribution": ATTRIBUTION,
        "epochs": [{"id": e, "capture": captures[i % 3], "sensor": f"Scanner {i + 1}",
                    "operator": "Vermessungsamt",
                    "sources": [{"path": f"sources/{e}.laz"}]} for i, e in enumerate(epochs)],
        "annotations": [
            {"id": "old-hall", "position": [-20.0, 0.0, 15.5],
             "title": {"de": "Alte Halle", "en": "Old hall"},
             "text": {"de": "Abgerissen nach 2019.", "en": "Demolished after 2019."},
             "epochs": [E1]},
            {"id": "square", "position": [0.0, -30.0, 0.5],
             "title": {"de": "Marktplatz", "en": "Market square"},
             "text": {"de": "Immer da.", "en": "Always there."}, "epochs": []},
        ] if annotations else [],
    }
    return SiteManifest.from_json_dict(data).to_json_dict()


def epoch_json(epoch: str, faces: list[int]) -> dict:
    return {"format": "stadtzeit-epoch-provenance/1", "site": SITE, "epoch": epoch,
            "created": "2024-05-01T10:00:00Z",
            "inputs": [{"path": f"sources/{epoch}.laz", "sha512": "0" * 128}],
            "preset": {"name": "als"}, "software": {"stadtzeit": "0.1.0", "pipeline": "1"},
            "registration": {"method": "icp", "rmse": 0.021},
            "statistics": {"points": 123456, "faces": faces},
            "events": [{"type": "ingestion", "outcome": "success"},
                       {"type": "fixity", "outcome": "success"}]}


def change_values(a: str, b: str, n: int = 101, half: float = 50.0) -> np.ndarray:
    xs = np.linspace(-half, half, n)
    x, y = np.meshgrid(xs, xs)
    return (heights(x, y, b) - heights(x, y, a)).ravel().astype(np.float32)


def change_summary(a: str, b: str, values: np.ndarray) -> dict:
    from processing.change.summary import histogram
    return {"format": "stadtzeit-change/1", "a": a, "b": b, "method": "m3c2",
            "level_of_detection": LOD95, "histogram": histogram(values),
            "regions": [
                {"id": 1, "sign": "removed", "area_m2": 400.0, "volume_m3": -6000.0,
                 "centroid": [-20.0, 0.0, 7.5], "bbox": [[-30, -10, 0], [-10, 10, 15]]},
                {"id": 2, "sign": "added", "area_m2": 400.0, "volume_m3": 4000.0,
                 "centroid": [20.0, 0.0, 5.0], "bbox": [[10, -10, 0], [30, 10, 10]]},
            ]}


@dataclass
class BuiltArchive:
    root: Path
    archive: Archive
    epochs: list[str]
    meshes: dict[str, Path] = field(default_factory=dict)


def build_archive(base: Path, epochs: tuple[str, ...] = (E1, E2), n: int = 101,
                  lods: tuple[int, ...] = (0,), change: bool = True,
                  damage: str | None = None, big: int | None = None) -> BuiltArchive:
    """Write a real archive with one site.

    `lods`: grid resolutions per LOD are n, n//2+1, ... ; `damage`: an epoch whose lod0.glb is
    truncated; `big`: vertices per side of a large extra lod0 (the others shift down one LOD).
    """
    root = base / "archive"
    work = base / "work"
    work.mkdir(parents=True, exist_ok=True)
    archive = Archive.init(root, durable=False)
    ta = BuiltArchive(root, archive, list(epochs))
    with archive.writer(SITE, message="test site", user="tests") as w:
        w.add_json("site.json", manifest(list(epochs)))
        for e in epochs:
            sizes = ([big] if big else []) + [max(n // (2 ** k), 3) + (k > 0) for k in lods]
            faces = []
            for k, size in enumerate(sizes):
                mesh = grid_mesh(e, size)
                path = work / f"{e}-lod{k}.glb"
                write_glb(mesh, path, extras={"lod": k})
                if damage == e and k == 0:
                    data = path.read_bytes()
                    path.write_bytes(data[: len(data) // 2])
                w.add_file(f"epochs/{e}/mesh/lod{k}.glb", path)
                ta.meshes[f"{e}/lod{k}"] = path
                faces.append(mesh.n_faces)
            w.add_json(f"epochs/{e}/epoch.json", epoch_json(e, faces))
        if change and len(epochs) >= 2:
            a, b = epochs[0], epochs[1]
            lod = 1 if big else 0
            values = change_values(a, b, n)
            buf = work / "change.npz"
            np.savez(buf, distance=values, significant=np.abs(values) >= LOD95)
            w.add_file(f"changes/{a}__{b}/m3c2/lod{lod}.npz", buf)
            w.add_json(f"changes/{a}__{b}/m3c2/summary.json", change_summary(a, b, values))
    return ta


# --------------------------------------------------------------------------- display

_xvfb: subprocess.Popen | None = None


def ensure_display() -> str | None:
    """A display for Qt's xcb platform: the existing one, or an Xvfb we start (and stop at exit).

    pyvistaqt's widget is a QOpenGLWidget, which Qt's offscreen platform cannot create, so GUI
    tests need X (Xvfb + Mesa's GLX). Returns a reason to skip when there is none.
    """
    global _xvfb
    if os.environ.get("DISPLAY"):
        return None
    try:
        proc, display = start_xvfb("1920x1080x24", timeout=5.0)
    except XvfbError as exc:
        return f"no DISPLAY, and {exc}; or run under xvfb-run"
    _xvfb = proc
    os.environ["DISPLAY"] = display
    atexit.register(proc.terminate)
    return None
