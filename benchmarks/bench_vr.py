"""The VR renderer, headless: stereo frame time at a headset's resolution, through EGL.

    python benchmarks/bench_vr.py --synthetic 2000000          # a generated mesh, no archive
    python benchmarks/bench_vr.py --archive PATH --site gasometer [--epoch ID] [--lod K]
    python benchmarks/bench_vr.py --synthetic 200000 --stereo both    # the two paths
    python benchmarks/bench_vr.py --synthetic 2000000 --view centre --cull both

--stereo two-pass draws each eye in turn (one draw per object per eye), as VR mode does on
drivers without GL_OVR_multiview2; multiview draws both eyes at once into a two-layer target and
blits each layer into its eye's buffer, as VR mode does where the driver has it (Mesa 25's
llvmpipe in the XR root does; Debian 12's Mesa 22 does not); both alternates the two, a block
of frames each, and prints them side by side. --msaa N draws with N samples (two-pass: into
MultisampleTarget, resolved; multiview: multisampled arrays, where the driver can). --cull
both draws with and without view-frustum culling by tile, also alternating; "triangles drawn"
says how many of the mesh's triangles were left after culling.

Draws what `stadtzeit vr` draws (viewer/vr/renderer.py: the same shaders, buffers and calls)
into two sRGB eye buffers of --size (default 2064x2208, a current headset's recommended size)
with depth, eyes 63 mm apart, --frames times after a warm-up, and prints medians:

- python: CPU time of the thread per frame — the interaction update (a teleport arc being
  aimed and cast against the mesh), building the frame, issuing both eyes' GL calls. This is
  VR mode's own work; it should not grow with the mesh (compare --synthetic 2000).
- gpu: GPU time of both eyes, from a GL_TIME_ELAPSED query.
- frame: wall time from the first call to glFinish returning (issue + GPU + waiting).
- upload: the one-off upload of the mesh (buffers, textures) to the GPU.

Runs wherever EGL has a driver: Mesa's llvmpipe on a machine with no GPU (then the "GPU" is the
CPU, and issuing a draw also does vertex work in the calling thread), or an NVIDIA GPU with no
X server (EGL device platform; STADTZEIT_EGL_DEVICE picks another GPU). The renderer in use is
printed. Needs numpy, pillow, PyOpenGL, pydantic (the project's own imports) and libEGL.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")   # before anything imports OpenGL
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from processing.types import Mesh  # noqa: E402
from viewer.model.state import Text  # noqa: E402
from viewer.vr.context import EGLContext, gl_info  # noqa: E402
from viewer.vr.gl import GL  # noqa: E402
from viewer.vr.interaction import (  # noqa: E402
    HandInput,
    InputFrame,
    Interaction,
    Mode,
    Pose,
    WalkSurface,
)
from viewer.vr.multiview import LayeredTarget, gl_extensions  # noqa: E402
from viewer.vr.renderer import (  # noqa: E402
    EyeView,
    FrameView,
    MultisampleTarget,
    OffscreenTarget,
    Renderer,
)
from viewer.vr.scene_data import ChangeField, EpochScene, Marker, VRScene  # noqa: E402

#: per-eye field of view (radians: left, right, up, down) of a current standalone headset
FOV_LEFT = (-0.90, 0.75, 0.80, -0.85)
FOV_RIGHT = (-0.75, 0.90, 0.80, -0.85)
IPD = 0.063


def synthetic_scene(faces: int, seed: int = 5) -> VRScene:
    """A 400 x 400 m heightfield city block with ~`faces` triangles, vertex colours, change
    values on every vertex and a few annotation markers."""
    n = max(int(math.sqrt(faces / 2)) + 1, 3)
    xs = np.linspace(-200, 200, n, dtype=np.float32)
    x, y = np.meshgrid(xs, xs)
    rng = np.random.default_rng(seed)
    z = 0.8 * np.sin(x / 17) * np.cos(y / 23)
    for _ in range(40):                                  # blocks of buildings
        cx, cy = rng.uniform(-180, 180, 2)
        w, d, h = rng.uniform(8, 30), rng.uniform(8, 30), rng.uniform(6, 60)
        z = np.where((np.abs(x - cx) < w / 2) & (np.abs(y - cy) < d / 2), h, z)
    v = np.c_[x.ravel(), y.ravel(), z.ravel()].astype(np.float32)
    gy, gx = np.gradient(z, xs, xs)
    nrm = np.c_[-gx.ravel(), -gy.ravel(), np.ones(n * n)]
    nrm = (nrm / np.linalg.norm(nrm, axis=1, keepdims=True)).astype(np.float32)
    idx = np.arange(n * n, dtype=np.uint32).reshape(n, n)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), \
        idx[1:, 1:].ravel()
    f = np.empty((2 * len(a), 3), np.uint32)
    f[0::2] = np.c_[a, b, d]
    f[1::2] = np.c_[a, d, c]
    col = np.empty((len(v), 4), np.uint8)
    col[:, 0] = (120 + 60 * np.sin(v[:, 0] / 7)).astype(np.uint8)
    col[:, 1] = (120 + 50 * np.cos(v[:, 1] / 5)).astype(np.uint8)
    col[:, 2] = np.clip(90 + 2 * v[:, 2], 0, 255).astype(np.uint8)
    col[:, 3] = 255
    mesh = Mesh(vertices=v, faces=f, frame="site", vertex_colors=col, normals=nrm)
    change = (3 * np.sin(v[:, 0] / 40) * np.cos(v[:, 1] / 30)).astype(np.float32)
    epoch = EpochScene("2024-01-01", None, 0, mesh, [ChangeField("2020-01-01", "2024-01-01",
                                                                 "synthetic", change)])
    markers = [Marker(f"m{i}", (float(px), float(py), 20.0), Text("Marke", "Marker"))
               for i, (px, py) in enumerate(rng.uniform(-150, 150, (8, 2)))]
    return VRScene("synthetic", Text("Synthetisch", "Synthetic"), "", "", (0.0, 0.0, 0.0), None,
                   [epoch], markers)


def archive_scene(path: Path, site: str | None, lod: int) -> VRScene:
    from viewer.vr.scene_data import load_scene

    return load_scene(path, site, lod=lod)


def eye_views(pitch: float) -> list[EyeView]:
    q = (math.sin(pitch / 2), 0.0, 0.0, math.cos(pitch / 2))
    from viewer.vr.xform import pose_matrix

    return [EyeView(pose_matrix((dx, 1.6, 0.0), q), fov)
            for dx, fov in ((-IPD / 2, FOV_LEFT), (IPD / 2, FOV_RIGHT))]


def median_p95(values: list[float]) -> tuple[float, float]:
    s = sorted(values)
    return statistics.median(s), s[min(len(s) - 1, int(0.95 * len(s)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--synthetic", type=int, metavar="TRIANGLES",
                     help="draw a generated mesh of about this many triangles")
    src.add_argument("--archive", type=Path, help="an archive with a site to draw")
    ap.add_argument("--site", help="site id in --archive (default: the only one)")
    ap.add_argument("--epoch", help="epoch to draw (default: the newest)")
    ap.add_argument("--lod", type=int, help="LOD to draw (default: the finest, lod0)")
    ap.add_argument("--size", default="2064x2208", help="per-eye size WxH")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--view", choices=["miniature", "life-size", "centre"],
                    default="miniature",
                    help="miniature: the whole site in view (every triangle drawn); life-size: "
                         "standing at the south edge, facing north; centre: standing in the "
                         "middle of the site, facing north")
    ap.add_argument("--no-heatmap", action="store_true", help="scan colours, not the heatmap")
    ap.add_argument("--png", type=Path, help="save the left eye of the last frame")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    ap.add_argument("--stereo", choices=["two-pass", "multiview", "both"], default="two-pass")
    ap.add_argument("--msaa", type=int, default=1, help="samples per pixel (default 1: none)")
    ap.add_argument("--cull", choices=["on", "off", "both"], default="on",
                    help="view-frustum culling by tile (off: every triangle; both: side by "
                         "side)")
    args = ap.parse_args()
    width, height = (int(s) for s in args.size.lower().split("x"))

    t = time.perf_counter()
    scene = synthetic_scene(args.synthetic) if args.synthetic else \
        archive_scene(args.archive, args.site, args.lod if args.lod is not None else 0)
    epoch = scene.index(args.epoch)
    t_scene = time.perf_counter() - t
    ctx = EGLContext()
    info = gl_info()
    print(f"renderer: {info['renderer']} ({info['vendor']}, OpenGL {info['version']}, "
          f"EGL {ctx.platform})")
    n_faces = scene.epochs[epoch].n_faces
    print(f"scene: {scene.site_id} epoch {scene.epochs[epoch].id}: {n_faces:,} triangles, "
          f"{len(scene.epochs[epoch].mesh.vertices):,} vertices ({t_scene:.1f} s to make/read)")

    stereo = ["two-pass", "multiview"] if args.stereo == "both" else [args.stereo]
    if "multiview" in stereo and "GL_OVR_multiview2" not in gl_extensions():
        print("this driver has no GL_OVR_multiview2: two-pass only", file=sys.stderr)
        stereo = ["two-pass"]
    culls = {"on": [True], "off": [False], "both": [True, False]}[args.cull]
    # each configuration measured: "two-pass", "multiview", "... no cull"
    configs = {f"{st}{'' if c else ' no cull'}": (st, c) for st in stereo for c in culls}
    t = time.perf_counter()
    renderers = {name: Renderer(scene, views=2 if st == "multiview" else 1, cull=c)
                 for name, (st, c) in configs.items()}
    GL.glFinish()
    t_upload = (time.perf_counter() - t) / len(configs)
    targets = [OffscreenTarget(width, height) for _ in range(2)]
    multisample = [MultisampleTarget(width, height, args.msaa) for _ in range(2)] \
        if args.msaa > 1 and "two-pass" in stereo else []
    layered = None
    if "multiview" in stereo:
        try:
            layered = LayeredTarget(width, height, args.msaa)
        except RuntimeError as exc:
            print(f"multiview with {args.msaa} samples: {exc}; two-pass only", file=sys.stderr)
            configs = {k: v for k, v in configs.items() if v[0] == "two-pass"}

    t = time.perf_counter()
    mesh = scene.epochs[epoch].mesh
    surfaces = [WalkSurface(e.mesh.vertices, e.mesh.faces) if i == epoch else
                WalkSurface(np.zeros((3, 3), np.float32), np.array([[0, 1, 2]]))
                for i, e in enumerate(scene.epochs)]
    t_surface = time.perf_counter() - t
    del mesh
    head = Pose((0.0, 1.6, 0.0))
    inter = Interaction(surfaces, scene.bounds, [e.id for e in scene.epochs],
                        compare_with=[[c.a for c in e.changes] for e in scene.epochs],
                        start_epoch=epoch,
                        mode=Mode.MINIATURE if args.view == "miniature" else Mode.LIFE_SIZE,
                        heatmap=not args.no_heatmap)
    inter.update(InputFrame(0.0, head))
    if args.view == "centre":
        lo, hi = scene.bounds
        inter.go_to(epoch, inter.heatmap, 0, False, (lo + hi) / 2, 0.0)
        for k in range(60):                  # through the fade
            inter.update(InputFrame(k / 60, head))
    # the right hand aims a teleport arc (a ray in the miniature) the whole time
    aim = Pose((0.15, 1.3, -0.3), (math.sin(-0.25), 0.0, 0.0, math.cos(-0.25)))
    views = eye_views(-0.45 if args.view == "miniature" else -0.15)
    from OpenGL.raw.GL.VERSION.GL_3_3 import glGetQueryObjectui64v  # after viewer.vr.gl

    def draw_two_pass(r: Renderer, frame: FrameView) -> None:
        for i, (eye, target) in enumerate(zip(views, targets, strict=True)):
            if multisample:
                r.draw(multisample[i].fbo, width, height, eye, frame)
                multisample[i].resolve(target.fbo)
            else:
                r.draw(target.fbo, width, height, eye, frame)

    def draw_multiview(r: Renderer, frame: FrameView) -> None:
        r.draw(layered.fbo, width, height, views, frame)
        for i, target in enumerate(targets):     # into each eye's (swapchain) image
            layered.resolve(i, target.fbo)

    draw = {"two-pass": draw_two_pass, "multiview": draw_multiview}
    query = int(np.atleast_1d(GL.glGenQueries(1))[0])
    result = ctypes.c_uint64()
    figures = {path: {"python": [], "interaction": [], "gpu": [], "frame": [], "drawn": []}
               for path in configs}
    block = 10          # frames per configuration in turn: all see the same load
    for path, (st, _) in configs.items():
        for _ in range(args.warmup):
            draw[st](renderers[path], FrameView(inter.stage_from_site(), epoch=inter.epoch_index,
                                 heatmap=inter.heatmap_visible,
                                 miniature=inter.mode == Mode.MINIATURE))
    i = 0
    while any(len(f["frame"]) < args.frames for f in figures.values()):
        for path, (st, _) in configs.items():
            for _ in range(min(block, args.frames - len(figures[path]["frame"]))):
                GL.glFinish()
                c0, t0 = time.thread_time(), time.perf_counter()
                inter.update(InputFrame(1.0 + i / 90, head, right=HandInput(aim, (0.0, 1.0))))
                i += 1
                c1 = time.thread_time()
                frame = FrameView(inter.stage_from_site(), epoch=inter.epoch_index,
                                  heatmap=inter.heatmap_visible, fade=inter.fade,
                                  miniature=inter.mode == Mode.MINIATURE, aim=inter.aim)
                renderers[path].set_aim(inter.aim, frame.miniature)
                GL.glBeginQuery(GL.GL_TIME_ELAPSED, query)
                draw[st](renderers[path], frame)
                GL.glEndQuery(GL.GL_TIME_ELAPSED)
                c2 = time.thread_time()
                GL.glFinish()
                t2 = time.perf_counter()
                glGetQueryObjectui64v(query, GL.GL_QUERY_RESULT, ctypes.byref(result))
                f = figures[path]
                f["python"].append((c2 - c0) * 1e3)
                f["interaction"].append((c1 - c0) * 1e3)
                f["gpu"].append(result.value / 1e6)
                f["frame"].append((t2 - t0) * 1e3)
                f["drawn"].append(renderers[path].drawn_faces)
    if args.png:
        from PIL import Image

        Image.fromarray(targets[0].read()[:, :, :3]).save(args.png)

    colours = "heatmap" if inter.heatmap_visible else "scan colours"
    print(f"stereo {width}x{height} x 2, {args.view}, {colours}, {args.frames} frames per "
          f"configuration, MSAA {args.msaa}, load average {os.getloadavg()[0]:.1f} at the end")
    names = {"python": "python", "interaction": "  of which interaction", "gpu": "gpu",
             "frame": "frame", "drawn": "triangles drawn"}
    print(f"{'median (p95) ms':24}" + "".join(f"{p:>20}" for p in configs))
    stats = {p: {k: median_p95(v) for k, v in figures[p].items()} for p in configs}
    for key, name in names.items():
        print(f"{name:24}" + "".join(f"{stats[p][key][0]:12.2f} ({stats[p][key][1]:5.2f})"
                                     for p in configs))
    print(f"upload {t_upload * 1e3:.0f} ms, walkable-surface index {t_surface * 1e3:.0f} ms")
    if args.json:
        args.json.write_text(json.dumps({
            "renderer": info, "triangles": n_faces, "size": [width, height], "view": args.view,
            "heatmap": inter.heatmap_visible, "frames": args.frames, "msaa": args.msaa,
            "load_average": os.getloadavg(),
            "median_ms": {p: {k: v[0] for k, v in stats[p].items()} for p in configs},
            "p95_ms": {p: {k: v[1] for k, v in stats[p].items()} for p in configs},
            "upload_ms": t_upload * 1e3, "surface_ms": t_surface * 1e3}, indent=2))
    for target in [*targets, *multisample, *([layered] if layered else [])]:
        target.destroy()
    for r in renderers.values():
        r.destroy()
    ctx.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
