"""A small real archive for the VR tests (written through archive.writer, meshes through
processing.gltf.write_glb), with nothing beyond numpy, pillow, pydantic and ocfl-py: it also
runs inside the Debian 13 root where the XR tests run.

The site is a 100 x 100 m block on a 1 m grid (site frame, z up). Epoch A has a 15 m building
at x -30..-10; epoch B has lost it and gained a 10 m building at x 10..30 (both y -10..10).
A is tinted warm, B cool, so a pixel says which epoch it shows. B carries exact change values
(z_B - z_A): +10 m on the new building (red in the heatmap, east = right when facing north),
-15 m where the old one stood (blue, west = left), 0 elsewhere; a strip at the north edge has
no value (NaN).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from archive import Archive
from assets_manifest.models import SiteManifest
from processing.gltf import write_glb
from processing.types import Mesh

SITE = "vrblock"
A, B = "2019-05-02", "2023-09-14"
TINT = {A: (215, 150, 80), B: (70, 140, 215)}
OLD = (-30.0, -10.0, -10.0, 10.0, 15.0)    # x0, x1, y0, y1, height: epoch A only
NEW = (10.0, 30.0, -10.0, 10.0, 10.0)      # epoch B
NO_VALUE_Y = 45.0                          # change values are NaN north of this
LEVEL_OF_DETECTION = 0.5                   # metres, in the change product's summary
STORY = "tour"                             # a three-stop story stored with the site
PICTURE = "stories/img/today.png"          # the last stop's picture: green, a magenta right half
PICTURE_GREEN, PICTURE_MAGENTA = (20, 210, 40), (220, 30, 200)


def heights(x: np.ndarray, y: np.ndarray, epoch: str) -> np.ndarray:
    x0, x1, y0, y1, h = OLD if epoch == A else NEW
    return np.where((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1), h, 0.0)


def grid(epoch: str, n: int = 101, half: float = 50.0) -> Mesh:
    xs = np.linspace(-half, half, n)
    x, y = np.meshgrid(xs, xs)
    v = np.c_[x.ravel(), y.ravel(), heights(x, y, epoch).ravel()]
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = (idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(),
                  idx[1:, 1:].ravel())
    faces = np.r_[np.c_[a, b, d], np.c_[a, d, c]].astype(np.uint32)
    col = np.empty((len(v), 4), np.uint8)
    col[:, :3], col[:, 3] = TINT[epoch], 255
    return Mesh(vertices=v.astype(np.float32), faces=faces, frame="site", vertex_colors=col)


def change(n: int = 101, half: float = 50.0) -> np.ndarray:
    xs = np.linspace(-half, half, n)
    x, y = np.meshgrid(xs, xs)
    values = (heights(x, y, B) - heights(x, y, A)).astype(np.float32)
    values[y > NO_VALUE_Y] = np.nan
    return values.ravel()


def story() -> dict:
    """An overview of A from the air, the new hall from the ground with the heatmap, B from
    the air: a miniature, a life-size stop and a miniature again."""
    def stop(sid, position, focal, epoch, title, **kw):
        return {"id": sid, "title": {"de": title, "en": title}, "camera": {
            "position": position, "focal_point": focal}, "epoch": epoch,
            "text": {"de": f"Text zu {title}", "en": f"About {title}"}, "duration_s": 60, **kw}
    return {"format": "stadtzeit-story/1", "id": STORY, "site": SITE,
            "title": {"de": "Rundgang", "en": "Tour"}, "stops": [
                stop("overview", [-60, -60, 80], [0, 0, 0], A, "Overview"),
                stop("new-hall", [20, -40, 1.6], [20, 0, 5], B, "New hall", epoch_a=A,
                     compare="heatmap"),
                stop("today", [0, -80, 120], [0, 0, 0], B, "Today", image=PICTURE)]}


def picture() -> bytes:
    """The last stop's picture as PNG: 300 x 200, green with its right third magenta (colours
    found nowhere else in the site, so a pixel of them in a frame is the picture)."""
    import io

    from PIL import Image

    img = np.zeros((200, 300, 3), np.uint8)
    img[:] = PICTURE_GREEN
    img[:, 200:] = PICTURE_MAGENTA
    out = io.BytesIO()
    Image.fromarray(img).save(out, format="PNG")
    return out.getvalue()


def manifest() -> dict:
    return SiteManifest.from_json_dict({
        "id": SITE, "name": {"de": "VR-Testblock", "en": "VR test block"},
        "description": {"de": "Ein Block für VR-Tests.", "en": "A block for VR tests."},
        "location": {"lat": 51.49, "lon": 6.87}, "crs": "EPSG:25832+7837",
        "origin": [351800.0, 5707900.0, 40.0], "licence": "CC-BY-4.0",
        "attribution": "Teststadt",
        "epochs": [{"id": e, "capture": "airborne-lidar", "sensor": "Scanner",
                    "operator": "Vermessungsamt",
                    "sources": [{"path": f"sources/{e}.laz"}]} for e in (A, B)],
        "annotations": [{"id": "hall", "position": [20.0, 0.0, 11.0],
                         "title": {"de": "Neue Halle", "en": "New hall"},
                         "text": {"de": "Gebaut nach 2019.", "en": "Built after 2019."},
                         "epochs": [B]}],
    }).to_json_dict()


def build(base: Path, lods: tuple[int, ...] = (101, 51)) -> Path:
    """Write the archive under `base`; LOD k is a grid of `lods[k]` vertices a side (change
    values only for the finest). Returns the archive folder."""
    root, work = base / "archive", base / "work"
    work.mkdir(parents=True, exist_ok=True)
    archive = Archive.init(root, durable=False)
    with archive.writer(SITE, message="VR test site", user="tests") as w:
        w.add_json("site.json", manifest())
        for e in (A, B):
            for k, n in enumerate(lods):
                path = write_glb(grid(e, n), work / f"{e}-lod{k}.glb", extras={"lod": k})
                w.add_file(f"epochs/{e}/mesh/lod{k}.glb", path)
        np.savez(work / "change.npz", distance=change(lods[0]))
        w.add_file(f"changes/{A}__{B}/m3c2/lod0.npz", work / "change.npz")
        # exact values: anything beyond half a metre is real change
        w.add_json(f"changes/{A}__{B}/m3c2/summary.json",
                   {"method": "m3c2", "level_of_detection": LEVEL_OF_DETECTION})
        w.add_bytes(PICTURE, picture())
        w.add_json(f"stories/{STORY}.json", story())
    return root
