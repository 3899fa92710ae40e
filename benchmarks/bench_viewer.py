"""The desktop viewer: time to first frame, and frame time while orbiting, per LOD.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python benchmarks/bench_viewer.py \
        [--archive PATH --site ID] [--faces 1000000] [--frames 30] [--json out.json]

Without --archive a synthetic site is written to a temporary archive: a wavy 2.5D city block
with vertex colours in three LODs (--faces, 25 %, 5 %, as ingest makes them).

- first frame: from opening the archive in a new main window to the first frame that shows the
  site's mesh (what a user waits for; includes listing, the GLB read in the worker thread and
  the first draw with its shader compilation and upload).
- orbit: one 1280x720 view, the camera turned 3 degrees per frame, each frame drawn
  synchronously; median and 95th percentile over --frames frames. The last row repeats the
  LOD the viewer picks with 8x MSAA (PyVista's default) to show what turning it off saves.
- interaction LOD: the main window's 1280x720 view orbiting as a user drags (each frame an
  interaction event, then the camera turn, drawn synchronously), with the interaction LOD on
  (coarsest LOD while moving) and off (the chosen LOD all the time), and the frame the view
  draws when it returns to full detail after the idle timeout.
- epoch switch: from choosing another epoch (a timeline click) to the frame that shows it.
- start: `stadtzeit view SITE --screenshot` in a fresh process, from the command to the saved
  PNG of the first full frame (cold imports, window, listing, loading, drawing, +0.3 s the
  command waits before saving), for this tree and, with --baseline TREE, for another checkout
  (e.g. /work/main) in the same run, alternating, medians of --starts runs.
- drag (what a user gets): the main window shown with a 1280x720 view, a left-button drag
  sent through Qt (QTest press, moves, release on the view's widget, i.e. real QMouseEvents
  through Qt's event delivery), each move waited on until Qt has composed the window and
  swapped it to the screen (QOpenGLWidget.frameSwapped): VTK's render, the blit, the Qt
  repaint of the window and everything the viewer does per event. fps = moves / wall time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop, QPoint, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from archive import Archive  # noqa: E402
from assets_manifest.models import SiteManifest  # noqa: E402
from processing.gltf import write_glb  # noqa: E402
from processing.types import Mesh  # noqa: E402
from viewer.desktop.main_window import MainWindow  # noqa: E402
from viewer.model.scene import INTERACTIVE_FACE_BUDGET, SceneDescription, read_glb  # noqa: E402
from viewer.model.scene import Layer as SceneLayer  # noqa: E402
from viewer.model.state import Camera, ViewerModel  # noqa: E402
from viewer.render.vtk_view import SceneView  # noqa: E402


def c_idle() -> int:
    from viewer.qt.controller import INTERACTION_IDLE_MS
    return INTERACTION_IDLE_MS


def wait(condition, timeout: float = 120.0) -> None:
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the viewer did not get there in time")
        loop = QEventLoop()
        QTimer.singleShot(5, loop.quit)
        loop.exec()


def heightfield(faces: int, seed: int = 3) -> Mesh:
    n = int(np.sqrt(faces / 2)) + 1
    xs = np.linspace(-100, 100, n)
    x, y = np.meshgrid(xs, xs)
    rng = np.random.default_rng(seed)
    z = 0.5 * np.sin(x / 9) * np.cos(y / 13)
    for bx, by, h in rng.uniform([-90, -90, 5], [90, 90, 40], (25, 3)):
        z[(abs(x - bx) < 8) & (abs(y - by) < 6)] = h
    v = np.c_[x.ravel(), y.ravel(), z.ravel()]
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = (idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(),
                  idx[1:, 1:].ravel())
    col = np.empty((len(v), 4), np.uint8)
    col[:, 0] = 120 + np.clip(z.ravel() * 3, 0, 120)
    col[:, 1], col[:, 2], col[:, 3] = 140, 110, 255
    return Mesh(v.astype(np.float32), np.r_[np.c_[a, b, d], np.c_[a, d, c]].astype(np.uint32),
                frame="site", vertex_colors=col)


def synthetic_archive(base: Path, faces: int) -> tuple[Path, str]:
    archive = Archive.init(base / "archive", durable=False)
    site, epoch = "benchblock", "2024-01-01"
    manifest = SiteManifest.from_json_dict({
        "id": site, "name": {"de": "Testblock", "en": "Bench block"},
        "description": {"de": "Synthetisch.", "en": "Synthetic."},
        "location": {"lat": 51.47, "lon": 6.85}, "origin": [351800.0, 5707900.0, 40.0],
        "licence": "CC0-1.0", "attribution": "stadtzeit benchmarks",
        "epochs": [{"id": epoch, "capture": "airborne-lidar", "sensor": "synthetic",
                    "operator": "bench", "sources": [{"path": "none.laz"}]}]})
    with archive.writer(site, message="benchmark site", user="bench") as w:
        w.add_json("site.json", manifest.to_json_dict())
        for k, fraction in enumerate((1.0, 0.25, 0.05)):
            path = base / f"lod{k}.glb"
            write_glb(heightfield(int(faces * fraction)), path)
            w.add_file(f"epochs/{epoch}/mesh/lod{k}.glb", path)
    return archive.root, site


def first_frame(app: QApplication, root: Path, site: str) -> dict[str, float]:
    t0 = time.perf_counter()
    w = MainWindow(language="en")
    w.resize(1600, 900)
    w.show()
    w.open_archive(root)
    wait(lambda: bool(w.model.sites))
    t_list = time.perf_counter() - t0
    w.open_site(site)
    view = w.view_area.primary
    shown = []
    view.rendered.connect(lambda: shown.append(time.perf_counter()) if view.layers else None)
    wait(lambda: bool(shown))
    (layer,) = view.layers.values()
    out = {"sites_listed_s": t_list, "first_frame_s": shown[0] - t0,
           "faces": layer.mesh.n_faces}
    w.close()
    return out


def orbit(app: QApplication, mesh, frames: int, msaa: int = 0) -> dict[str, float]:
    view = SceneView(ViewerModel())
    view.plotter.ren_win.SetMultiSamples(msaa)
    view.resize(1280, 720)
    view.show()
    wait(lambda: view.plotter.isValid() if hasattr(view.plotter, "isValid") else True, 10)
    view.set_scene(SceneDescription([SceneLayer("m", "e", mesh)]))
    cam = Camera.fit(mesh.bounds)
    view.apply_camera(cam)
    view.render_now()  # upload and shaders: not an orbit frame
    view.plotter.finish()  # drawn (software GL: on the frame thread); the loop draws here
    times = []
    for i in range(frames):
        view.apply_camera(cam.orbit(3.0 * (i + 1)))
        t = time.perf_counter()
        view.plotter.ren_win.Render()
        times.append(time.perf_counter() - t)
    size = view.plotter.ren_win.GetSize()
    view.plotter.close()
    view.deleteLater()
    return {"median_ms": 1000 * statistics.median(times),
            "p95_ms": 1000 * float(np.percentile(times, 95)), "size": list(size)}


def interaction(app: QApplication, root: Path, site: str, frames: int) -> dict:
    w = MainWindow(language="en")
    w.resize(1900, 1050)
    w.show()
    w.open_archive(root)
    wait(lambda: bool(w.model.sites))
    w.open_site(site)
    c, view = w.controller, w.view_area.primary
    view.setFixedSize(1280, 720)
    wait(lambda: bool(view.layers) and c.loader.idle)
    epoch = w.model.epoch
    coarse = c.coarse_lod(epoch)
    out: dict = {"fine_faces": c.mesh(epoch).n_faces,
                 "coarse_faces": c.mesh(epoch, coarse).n_faces, "size": None}
    cam = w.model.camera
    for on in (False, True):
        c.interaction_lod = on
        c.end_interaction()
        view.render_now()
        view.plotter.finish()  # no frame of the frame thread while the loop draws here
        times, shown = [], set()
        for i in range(frames):
            t = time.perf_counter()
            view.interaction.emit()
            view.apply_camera(cam.orbit(3.0 * (i + 1)))
            view.plotter.ren_win.Render()
            times.append(time.perf_counter() - t)
            shown.update(la.mesh.n_faces for la in view.layers.values())
        out["size"] = list(view.plotter.ren_win.GetSize())
        out["on" if on else "off"] = {"median_ms": 1000 * statistics.median(times),
                                      "p95_ms": 1000 * float(np.percentile(times, 95)),
                                      "faces": sorted(shown)}
    # back to full detail after the idle timeout: one frame
    n = view.renders
    t = time.perf_counter()
    wait(lambda: not c.interacting and view.renders > n)
    out["settle_s"] = time.perf_counter() - t
    # epoch switch: a click on another epoch until its frame
    others = [e for e in w.model.site.epoch_ids if e != epoch]
    switches = []
    for e in others[-3:]:
        wait(lambda: c.loader.idle)
        t = time.perf_counter()
        w.model.set_epoch(e)
        wait(lambda e=e: any(la.epoch == e for la in view.layers.values()) and view.plotter.fresh)
        switches.append(time.perf_counter() - t)
    out["epoch_switch_ms"] = [1000 * s for s in switches]
    w.close()
    return out


def startup(tree: Path, root: Path, site: str) -> float:
    import os
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(tree))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "viewer.cli", "view", site, "--archive", str(root),
                        "--size", "1600x900", "--screenshot", str(Path(tmp) / "s.png")],
                       cwd=tree, env=env, check=True, capture_output=True, timeout=600)
        return time.perf_counter() - t


def drag(app: QApplication, root: Path, site: str, frames: int, lod_on: bool = True) -> dict:
    """Real drags through Qt on the shown window (see the module docstring)."""
    w = MainWindow(language="en")
    w.resize(1700, 960)
    w.show()
    w.open_archive(root)
    wait(lambda: bool(w.model.sites))
    w.open_site(site)
    c, view = w.controller, w.view_area.primary
    view.setFixedSize(1280, 720)
    c.interaction_lod = lod_on
    wait(lambda: bool(view.layers) and c.loader.idle)
    wait(lambda: view.plotter.fresh, 10)
    widget = view.plotter
    # events on the top-level QWindow, as the window system delivers them (Qt finds the widget
    # under the pointer and tracks the pressed button), not sent to the widget directly
    window = w.windowHandle()
    centre = widget.mapTo(w, QPoint(widget.width() // 2, widget.height() // 2))
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    faces: set[int] = set()

    def sweep() -> tuple[list[float], list[float]]:
        """One drag: each move is sent as soon as the previous one's frame reached the
        screen (a mouse moving faster than the frames), from the event loop itself, so no
        polling interval is added to the figure. Returns when each move was sent and when its
        frame was swapped."""
        sent: list[float] = []
        done: list[float] = []

        def next_move() -> None:
            if len(sent) < frames:
                sent.append(time.perf_counter())
                QTest.mouseMove(window, centre + QPoint(6 * len(sent), 2 * (len(sent) % 5)))

        def swapped() -> None:
            if len(sent) > len(done):
                done.append(time.perf_counter())
                faces.update(la.mesh.n_faces for la in view.layers.values())
                QTimer.singleShot(0, next_move)

        QTest.mousePress(window, left, none, centre)
        view.plotter.frameSwapped.connect(swapped)
        next_move()
        wait(lambda: len(done) == frames, 60)
        view.plotter.frameSwapped.disconnect(swapped)
        QTest.mouseRelease(window, left, none, centre + QPoint(6 * frames, 0))
        wait(lambda: not c.interacting, 10)
        return sent, done

    sweep()  # warms up shaders and the proxy's upload
    sent, done = sweep()
    times = [b - a for a, b in zip(sent, done, strict=True)]
    total = done[-1] - sent[0]
    out = {"window": [w.width(), w.height()], "view": [widget.width(), widget.height()],
           "median_ms": 1000 * statistics.median(times),
           "p95_ms": 1000 * float(np.percentile(times, 95)), "fps": frames / total,
           "faces": sorted(faces)}
    w.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archive", type=Path, help="a real archive (default: synthetic)")
    ap.add_argument("--site", help="site id in --archive")
    ap.add_argument("--faces", type=int, default=1_000_000, help="synthetic LOD0 triangles")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--drag-only", action="store_true", help="only the real drags")
    ap.add_argument("--start-only", action="store_true", help="only the start-up times")
    ap.add_argument("--baseline", type=Path, help="another checkout to time the start of")
    ap.add_argument("--starts", type=int, default=3)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        if args.archive:
            root, site = args.archive, args.site
        else:
            root, site = synthetic_archive(Path(tmp), args.faces)
        if args.start_only:
            trees = {"this tree": Path(__file__).resolve().parents[1]}
            if args.baseline:
                trees["baseline " + str(args.baseline)] = args.baseline
            times: dict[str, list[float]] = {k: [] for k in trees}
            for _ in range(args.starts):
                for name, tree in trees.items():
                    times[name].append(startup(tree, root, site))
            for name, ts in times.items():
                print(f"start to first frame saved, {name}: median "
                      f"{statistics.median(ts):.2f} s ({', '.join(f'{t:.2f}' for t in ts)})")
            return 0
        if args.drag_only:
            for name, on in (("on", True), ("off", False)):
                print(name, json.dumps(drag(app, root, site, args.frames, on)))
            return 0
        ff = first_frame(app, root, site)
        version = Archive.open(root).read(site)
        lods = sorted((p for p in version.files if "/mesh/lod" in p and p.endswith(".glb")),
                      key=lambda p: (p.split("/")[1], p))
        epoch = lods[-1].split("/")[1]  # the newest epoch
        rows = []
        for logical in [p for p in lods if p.split("/")[1] == epoch]:
            mesh = read_glb(version.files[logical])
            rows.append({"lod": logical.rsplit("/", 1)[1], "faces": mesh.n_faces,
                         **orbit(app, mesh, args.frames)})
        pick = min((r for r in rows if r["faces"] <= INTERACTIVE_FACE_BUDGET),
                   key=lambda r: -r["faces"], default=rows[-1])
        mesh = read_glb(version.files[f"epochs/{epoch}/mesh/{pick['lod']}"])
        rows.append({"lod": pick["lod"] + " MSAA 8", "faces": mesh.n_faces,
                     **orbit(app, mesh, args.frames, msaa=8)})
    print(f"sites listed {ff['sites_listed_s']:.2f} s; first frame {ff['first_frame_s']:.2f} s "
          f"({ff['faces']:,} triangles, chosen LOD)")
    print(f"{'LOD':<14}{'triangles':>12}{'median ms':>11}{'p95 ms':>9}{'fps':>7}")
    for r in rows:
        print(f"{r['lod']:<14}{r['faces']:>12,}{r['median_ms']:>11.1f}{r['p95_ms']:>9.1f}"
              f"{1000 / r['median_ms']:>7.1f}")
    msaa_ratio = rows[-1]["median_ms"] / next(r for r in rows if r["lod"] == pick["lod"])[
        "median_ms"]
    print(f"MSAA 8 / no MSAA at {pick['lod']}: {msaa_ratio:.2f}x")
    it = interaction(app, root, site, args.frames)
    print(f"main window orbit at {it['size'][0]}x{it['size'][1]}:")
    for name in ("off", "on"):
        r = it[name]
        print(f"  interaction LOD {name:<4} triangles {'/'.join(f'{n:,}' for n in r['faces']):>14}"
              f" median {r['median_ms']:.1f} ms  p95 {r['p95_ms']:.1f} ms  "
              f"{1000 / r['median_ms']:.1f} fps")
    print(f"  full detail back {1000 * it['settle_s']:.0f} ms after the last frame "
          f"(idle timeout {c_idle()} ms + one frame)")
    print("epoch switch to its frame: " + ", ".join(f"{ms:.0f} ms" for ms in
                                                    it["epoch_switch_ms"]))
    drags = {name: drag(app, root, site, args.frames, on)
             for name, on in (("on", True), ("off", False))}
    for name, r in drags.items():
        print(f"real drag through Qt, view {r['view'][0]}x{r['view'][1]} in a "
              f"{r['window'][0]}x{r['window'][1]} window, interaction LOD {name:<3}: "
              f"{r['fps']:.1f} fps (per move median {r['median_ms']:.1f} ms, "
              f"p95 {r['p95_ms']:.1f} ms; triangles {'/'.join(f'{n:,}' for n in r['faces'])})")
    if args.json:
        args.json.write_text(json.dumps({"first_frame": ff, "orbit": rows,
                                         "msaa_ratio": msaa_ratio, "interaction": it,
                                         "drag": drags}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
