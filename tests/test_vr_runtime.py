"""VR mode against a real OpenXR runtime: Monado with a simulated headset and its null
compositor, inside the Debian 13 root (`bash .ci/xr-tests.sh` runs them there). Real
sessions on a real archive, frames through every session state to a clean exit, pixels read
back from the runtime's own swapchain images.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import vr_site
from vr_site import A, B
from xvfb import XvfbError, start_xvfb

pytestmark = [
    pytest.mark.xr,
    pytest.mark.skipif(
        not os.environ.get("STADTZEIT_MONADO_LOG"),
        reason="needs a real OpenXR runtime: run `bash .ci/xr-tests.sh` (Monado with a "
               "simulated headset, in a Debian 13 root) — not run on the host"),
]

ROOT = Path(__file__).resolve().parents[1]
# `stadtzeit vr` without the other commands, whose dependencies the XR root does not carry
VR = [sys.executable, "-m", "viewer.commands.vr"]
ORDER = ["IDLE", "READY", "SYNCHRONIZED", "VISIBLE", "FOCUSED", "STOPPING", "EXITING"]
SRGB = (0x8C43, 0x8C41)          # GL_SRGB8_ALPHA8, GL_SRGB8
SKY = (176, 200, 224)
PROFILES = ("khr/simple_controller", "oculus/touch_controller", "valve/index_controller",
            "htc/vive_controller", "microsoft/motion_controller")


@pytest.fixture(scope="module")
def archive_root(tmp_path_factory) -> Path:
    return vr_site.build(tmp_path_factory.mktemp("vr"))


@pytest.fixture(scope="module")
def scene(archive_root):
    from viewer.vr.scene_data import load_scene

    return load_scene(archive_root)


@pytest.fixture
def xvfb(monkeypatch):
    try:
        proc, display = start_xvfb("640x480x24")
    except XvfbError as exc:
        if "not installed" in str(exc):
            pytest.skip(str(exc))
        pytest.fail(str(exc))
    monkeypatch.setenv("DISPLAY", display)
    yield display
    proc.terminate()
    proc.wait(10)


def in_order(states: list[str], wanted: list[str]) -> bool:
    it = iter(states)
    return all(any(s == w for s in it) for w in wanted)


def sky(img: np.ndarray) -> np.ndarray:
    return np.abs(img[..., :3].astype(int) - SKY).max(axis=2) <= 2


def reddish(img: np.ndarray) -> np.ndarray:
    i = img[..., :3].astype(int)
    return (i[..., 0] > i[..., 1] + 50) & (i[..., 0] > i[..., 2] + 50) & (i[..., 2] > 40)


def bluish(img: np.ndarray) -> np.ndarray:
    i = img[..., :3].astype(int)
    return (i[..., 2] > i[..., 0] + 80) & (i[..., 2] > i[..., 1] + 30)


def check_heatmap(img: np.ndarray) -> None:
    """Red (the new building, east) to the right of blue (the old one's footprint, west),
    the site in the lower half, sky at the top."""
    h, w = img.shape[:2]
    red, blue = reddish(img), bluish(img)
    assert red.sum() > 50 and blue.sum() > 50
    # east of west, whatever the simulated head's slow turn has done to where the site sits
    # in the view by the time the frame is read (on a loaded machine frames are slow)
    assert np.nonzero(red)[1].mean() > np.nonzero(blue)[1].mean() + w / 10
    assert (~sky(img[h // 2:])).mean() > 0.5        # the table and the site below the eye
    assert sky(img[:h // 10]).mean() > 0.9          # sky straight ahead and above


def run(scene, **kw):
    from viewer.vr.app import run_vr

    return run_vr(scene, timeout_s=120, **kw)


def test_egl_session_through_every_state_to_a_clean_exit(scene):
    r = run(scene, frames=8, graphics="egl", mode="miniature", heatmap=True, capture_last=True)
    assert r.graphics == "egl" and r.system == "Monado: Simulated HMD"
    assert in_order(r.states, ORDER) and r.states[-1] == "EXITING", r.states
    assert r.frames == 8 and r.submitted >= 8
    assert r.color_format in SRGB and r.depth_layer and r.space == "STAGE"
    assert all(any(p.endswith(name) for p in r.profiles) for name in PROFILES)
    assert sorted(r.captures) == [0, 1]
    for img in r.captures.values():
        assert img.shape == (r.eye_size[1], r.eye_size[0], 4)
        check_heatmap(img)
    assert r.epoch == B and r.mode == "miniature" and r.heatmap


@pytest.mark.parametrize("stereo", [{}, {"stereo": "multiview", "msaa": 1}],
                         ids=["auto", "multiview"])
def test_glx_session_on_xvfb_at_life_size(scene, xvfb, stereo):
    """Also multiview on GLX: its attach function found through GLX, not EGL."""
    r = run(scene, frames=5, graphics="glx", capture_last=True, **stereo)
    assert r.graphics == "glx" and r.stereo == stereo.get("stereo", "two-pass")
    assert in_order(r.states, ORDER) and r.states[-1] == "EXITING", r.states
    img = r.captures[0]
    h, w = img.shape[:2]
    assert (~sky(img[int(h * 0.6):])).mean() > 0.9  # ground from here to the horizon
    assert sky(img[: h // 5]).mean() > 0.9
    # the new building (B, cool tint) rises above the horizon on the right
    band = img[int(h * 0.35): int(h * 0.5)]
    cool = (~sky(band)) & (band[..., 2].astype(int) > band[..., 0].astype(int) + 40)
    assert cool[:, w // 2:].sum() > 20 and cool[:, w // 2:].sum() > 5 * cool[:, :w // 2].sum()


def test_scripted_controls_drive_a_real_session(scene):
    """Input from a script through the real frame loop: back one epoch with a fade."""
    from viewer.vr.interaction import InputFrame

    def script(n: int, inp: InputFrame) -> InputFrame:
        inp.previous_epoch = n in (2, 3)
        return inp

    r = run(scene, frames=14, mode="miniature", heatmap=True, script=script, capture_last=True)
    assert r.epoch == A and "epoch" in r.events and r.states[-1] == "EXITING"
    img = r.captures[0][..., :3].astype(int)
    site = ~sky(img)
    site[: img.shape[0] // 2] = False
    warm = img[site]
    assert warm[:, 0].mean() > warm[:, 2].mean() + 60   # epoch A's warm tint...
    assert bluish(r.captures[0]).sum() < 20             # ...and no heatmap (A has no data)


def test_headset_taken_off_resets_the_visit(scene):
    """The headset off (the script's test hook, on the same path as the session state) for
    longer than the reset time: the next frames show the start again — epoch B, no heatmap."""
    from viewer.vr.interaction import InputFrame

    def script(n: int, inp: InputFrame) -> InputFrame:
        inp.previous_epoch = n in (2, 3)
        inp.present = not 8 <= n < 40
        if 8 <= n < 40:
            time.sleep(0.02)                 # 32 frames off, well past 0.3 s
        return inp

    r = run(scene, frames=48, mode="life-size", script=script, reset_after_s=0.3)
    assert "epoch" in r.events and "reset" in r.events
    assert r.epoch == B and not r.heatmap and r.mode == "life-size"


def test_significant_only_greys_what_is_below_the_level_of_detection(scene):
    """The pair's product has per-vertex significance: with significant-only on, the heatmap
    keeps red and blue on the buildings and draws the rest light grey."""
    from viewer.vr.interaction import InputFrame

    def script(n: int, inp: InputFrame) -> InputFrame:
        inp.significant = n == 2
        return inp

    plain = run(scene, frames=6, mode="miniature", heatmap=True, capture_last=True)
    r = run(scene, frames=6, mode="miniature", script=script, capture_last=True)
    assert "significant" in r.events and r.heatmap
    check_heatmap(r.captures[0])
    before, after = plain.captures[0][..., :3].astype(int), r.captures[0][..., :3].astype(int)

    def white(img):   # the unchanged ground: white in the diverging scale
        return (img.min(axis=-1) > 225) & (np.ptp(img, axis=-1) < 12)

    def light_grey(img):   # INSIGNIFICANT_GREY, 185 in sRGB (lit: a little darker)
        return (img.min(axis=-1) > 120) & (img.max(axis=-1) < 205) & (np.ptp(img, axis=-1) < 8)

    assert white(before).sum() > 1000 and white(after).sum() < white(before).sum() / 10
    assert light_grey(after).sum() > light_grey(before).sum() + 1000


@pytest.mark.parametrize("stereo", [{}, {"stereo": "multiview", "msaa": 1}],
                         ids=["auto", "multiview"])
def test_a_story_played_to_its_end_with_its_text_in_view(scene, stereo):
    """The stored three-stop story: next on the controller steps through it; at each stop the
    left eye shows the stop's card (dark, with light text) left of the middle of the view, and
    the last stop's picture on its card."""
    from viewer.vr.interaction import InputFrame

    def script(n: int, inp: InputFrame) -> InputFrame:
        inp.next_epoch = n in (25, 50)          # next, next: the epoch buttons step the story
        return inp

    r = run(scene, frames=75, script=script, story=scene.story(vr_site.STORY),
            capture_stops=True, **stereo)
    assert r.stereo == stereo.get("stereo", "two-pass")     # auto on llvmpipe: two passes
    assert r.stops == ["overview", "new-hall", "today"] and r.events.count("story") == 3
    assert sorted(r.stop_captures) == sorted(r.stops)
    for stop_id, img in r.stop_captures.items():
        h, w = img.shape[:2]
        middle = img[int(h * 0.3):int(h * 0.8), int(w * 0.1):int(w * 0.5), :3].astype(int)
        dark = middle.max(axis=-1) < 45
        assert dark.mean() > 0.15, f"{stop_id}: no card in view ({dark.mean():.0%} dark)"
        rows, cols = np.nonzero(dark)                  # the card's box: text is light in it
        card = middle[rows.min():rows.max(), cols.min():cols.max()]
        assert (card.min(axis=-1) > 110).sum() > 30, f"{stop_id}: no text on the card"
        # the last stop's picture on its card, and only there
        picture = (np.abs(img[..., :3].astype(int) - vr_site.PICTURE_GREEN).max(axis=-1) < 30)
        if stop_id == "today":
            assert picture.sum() > 100, f"{stop_id}: no picture ({picture.sum()} pixels)"
        else:
            assert not picture.any(), f"{stop_id} has no picture, yet shows one"
    assert r.epoch == B and r.mode == "miniature"


def redraw(scene, size: tuple[int, int], views, frame, stereo: str) -> list[np.ndarray]:
    """Both eyes of a frame drawn again offscreen, on a new EGL context, by the `stereo`
    path (no MSAA)."""
    from viewer.vr.context import EGLContext
    from viewer.vr.multiview import LayeredTarget
    from viewer.vr.renderer import OffscreenTarget, Renderer

    (w, h), ctx = size, EGLContext()
    try:
        r = Renderer(scene, views=2 if stereo == "multiview" else 1)
        if stereo == "multiview":
            layered = LayeredTarget(w, h)
            r.draw(layered.fbo, w, h, views, frame)
            images = [layered.read(i) for i in range(2)]
            layered.destroy()
        else:
            images = []
            for eye in views:
                target = OffscreenTarget(w, h)
                r.draw(target.fbo, w, h, eye, frame)
                images.append(target.read())
                target.destroy()
        r.destroy()
        return images
    finally:
        ctx.destroy()


@pytest.mark.parametrize("stereo,other", [("multiview", "two-pass"), ("two-pass", "multiview")])
def test_multiview_and_two_pass_give_the_same_swapchain_images(scene, stereo, other):
    """Llvmpipe in the root has GL_OVR_multiview2. A session on each path (no MSAA: llvmpipe
    cannot draw multiview into multisampled arrays): the swapchain images read back are those
    the other path draws for the same eyes and frame (the simulated head moves with time, so
    two sessions never see the same view: the other path redraws this session's last one)."""
    r = run(scene, frames=6, mode="miniature", heatmap=True, capture_last=True, msaa=1,
            stereo=stereo)
    assert r.stereo == stereo and r.states[-1] == "EXITING"
    assert len(r.last_views) == 2 and r.last_frame is not None
    again = redraw(scene, r.eye_size, r.last_views, r.last_frame, other)
    for eye in (0, 1):
        check_heatmap(r.captures[eye])
        diff = np.abs(r.captures[eye][..., :3].astype(int) - again[eye][..., :3]).max(axis=-1)
        assert (diff > 2).mean() < 0.001, f"eye {eye}: {(diff > 2).mean():.2%} differ"
    # the two eyes are not one picture twice: each layer has its own view
    assert (np.abs(r.captures[0].astype(int) - r.captures[1]).max(axis=-1) > 2).mean() > 0.01


def test_stereo_path_chosen_from_what_the_driver_can_do(scene, monkeypatch):
    """On llvmpipe auto draws two passes (a software rasteriser: multiview measured slower);
    forced multiview runs, with MSAA asked for without it (llvmpipe cannot attach multisampled
    arrays for multiview). Were llvmpipe a GPU, auto would take multiview without MSAA and keep
    two passes with 4x MSAA (the picture keeps its MSAA). A mode the driver cannot do, or an
    unknown one, is a clear error."""
    from viewer.vr import multiview
    from viewer.vr.context import EGLContext
    from viewer.vr.gl import GL
    from viewer.vr.multiview import ENV, StereoModeError, choose, stereo_setup

    monkeypatch.delenv(ENV, raising=False)
    ctx = EGLContext()
    size = [(320, 240), (320, 240)]
    assert choose("auto", frozenset(multiview.EXTENSIONS), size,
                  "NVIDIA H100 80GB HBM3/PCIe/SSE2") == "multiview"
    assert choose("auto", frozenset(multiview.EXTENSIONS), size,
                  "llvmpipe (LLVM 19.1.7, 256 bits)") == "two-pass"

    def check(cases) -> None:
        for requested, msaa, mode, samples in cases:
            got, renderer, layered = stereo_setup(scene, requested, size, msaa,
                                                  GL.GL_DEPTH_COMPONENT24)
            assert (got, renderer.views) == (mode, 2 if mode == "multiview" else 1), requested
            assert (layered.samples if layered else None) == samples
            renderer.destroy()
            if layered:
                layered.destroy()

    try:
        check([("auto", 1, "two-pass", None), ("auto", 4, "two-pass", None),
               ("multiview", 1, "multiview", 1), ("multiview", 4, "multiview", 1),
               ("two-pass", 1, "two-pass", None)])
        monkeypatch.setenv(ENV, "multiview")
        check([(None, 1, "multiview", 1)])
        monkeypatch.delenv(ENV)
        monkeypatch.setattr(multiview, "SOFTWARE_RENDERERS", ())    # as if a GPU
        check([("auto", 1, "multiview", 1), ("auto", 4, "two-pass", None)])
    finally:
        ctx.destroy()
    both = frozenset(multiview.EXTENSIONS)
    with pytest.raises(StereoModeError, match="GL_OVR_multiview2"):
        choose("multiview", frozenset({"GL_OVR_multiview"}), size)
    with pytest.raises(StereoModeError, match="differ in size"):
        choose("multiview", both, [(320, 240), (300, 240)])
    with pytest.raises(StereoModeError, match="one of auto, multiview, two-pass"):
        choose("single-pass", frozenset(), size)


def test_cli_end_to_end_with_a_screenshot(archive_root, tmp_path):
    png = tmp_path / "left.png"
    done = subprocess.run(
        [*VR, vr_site.SITE, "--archive", str(archive_root),
         "--frames", "6", "--screenshot", str(png), "--start", "miniature", "--heatmap",
         "--language", "en"], capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "EXITING" in done.stderr and "6 frames drawn" in done.stderr
    from PIL import Image

    img = np.asarray(Image.open(png))
    assert img.ndim == 3 and img.shape[2] == 3
    check_heatmap(img)


def test_unknown_epoch_fails_before_the_headset(archive_root):
    done = subprocess.run(
        [*VR, "--archive", str(archive_root), "--epoch",
         "1999-01-01"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1 and "1999-01-01" in done.stderr and A in done.stderr


def test_configured_runtime_without_its_service_fails_before_loading(archive_root, tmp_path):
    """Monado configured but its service not running: exit 2 at once, before the site loads."""
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))   # no service socket in here
    started = time.monotonic()
    done = subprocess.run([*VR, vr_site.SITE, "--archive", str(archive_root)], env=env,
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "no OpenXR runtime answered" in done.stderr and "Traceback" not in done.stderr
    assert "triangles" not in done.stderr, "the site was loaded before the runtime was asked"
    assert time.monotonic() - started < 60


def start_cli(args: list[str], prefix: list[str] | None = None) -> subprocess.Popen:
    """`stadtzeit vr ...` in the background; returns once it has loaded the site (the session
    is opening then)."""
    proc = subprocess.Popen([*(prefix or []), *VR, *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)
    for line in proc.stderr:
        if line.startswith(f"{vr_site.SITE}:"):   # the LOD summary, printed before the session
            break
    time.sleep(3.0)
    return proc


@pytest.mark.parametrize("stereo", [[], ["--stereo", "multiview", "--msaa", "1"]])
def test_ctrl_c_ends_the_session_cleanly_and_keeps_the_last_frame(archive_root, tmp_path,
                                                                   stereo):
    """Also forced multiview: the last frame is drawn again into a layered target."""
    png = tmp_path / "left.png"
    proc = start_cli(["--archive", str(archive_root), "--screenshot", str(png), "--start",
                      "miniature", "--heatmap", *stereo])
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    assert proc.wait(60) == 0, err
    assert f"{'multiview' if stereo else 'two-pass'} stereo" in err
    assert "STOPPING > IDLE > EXITING" in err or ("STOPPING" in err and "EXITING" in err)
    assert "left eye saved" in err
    from PIL import Image

    # drawn again after the session ended; the simulated head has turned a little by now,
    # so both colours are there but not necessarily split by the middle
    img = np.asarray(Image.open(png))
    assert reddish(img).sum() > 50 and bluish(img).sum() > 50
    assert (~sky(img[img.shape[0] // 2:])).mean() > 0.5


def test_a_runtime_that_dies_is_reported_not_a_traceback(archive_root, tmp_path):
    """Monado killed mid-session (its own private service, not the suite's)."""
    where = tmp_path / "runtime-dir"
    proc = start_cli(["--archive", str(archive_root)], prefix=[
        str(ROOT / ".ci" / "with-monado.sh"), "sh", "-c",
        f'echo "$XDG_RUNTIME_DIR" > {where}; exec "$0" "$@"'])
    pid = int((Path(where.read_text().strip()) / "monado.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    err = proc.stderr.read()
    assert proc.wait(60) == 1, err
    assert "the VR runtime ended the session" in err and "Traceback" not in err


@pytest.mark.skipif(os.environ.get("MONADO_CONTROLLERS") != "1",
                    reason="needs Monado's simulated controllers: .ci/xr-tests.sh runs this "
                           "test in a second pass with MONADO_CONTROLLERS=1")
def test_controllers_bound_tracked_and_teleporting(scene):
    from viewer.vr.interaction import InputFrame

    seen: list[InputFrame] = []

    def script(n: int, inp: InputFrame) -> InputFrame:
        seen.append(inp)
        if inp.right.aim is not None and 2 <= n <= 5:
            inp.right.stick = (0.0, 1.0)            # the simple controller has no stick
        return inp

    r = run(scene, frames=16, script=script, capture_last=True)
    hands = [(f.left.aim, f.right.aim) for f in seen if f.left.aim and f.right.aim]
    assert hands, "the simulated controllers were never tracked"
    left, right = hands[-1]
    assert left.position[0] < 0 < right.position[0] and 0.8 < left.position[1] < 1.8
    assert any(p.endswith("khr/simple_controller") for p in r.profiles)
    assert "teleport" in r.events, r.events
    img = r.captures[0][..., :3].astype(int)
    dark = (img.max(axis=2) < 100) & (img.sum(axis=2) < 180)   # the panel's background
    assert dark[:, : img.shape[1] // 2].sum() > 100  # above the left controller (the panel;
    assert np.nonzero(dark)[1].mean() < img.shape[1] / 2   # it may reach across the middle)
