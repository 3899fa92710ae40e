"""VR mode's main loop: session + renderer + actions + interaction + panel.

Per frame: poll runtime events (the state machine), xrWaitFrame (the runtime paces us), locate
the head, sync the controllers, update the interaction, draw both eyes, xrEndFrame. Python's
work per frame is the same for a 2k- and a 2M-triangle site (benchmarks/bench_vr.py).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xr

from viewer.model.stories import Stop, Story
from viewer.vr.actions import Actions, locate
from viewer.vr.cards import card_at
from viewer.vr.gl import GL
from viewer.vr.interaction import InputFrame, Interaction, Mode, WalkSurface
from viewer.vr.interrupt import StopFlag, stop_on_sigint
from viewer.vr.multiview import LayeredTarget, stereo_setup
from viewer.vr.panel import (
    CARD_METRES,
    PANEL_WIDTH,
    CardState,
    PanelState,
    render_card,
    render_panel,
)
from viewer.vr.renderer import (
    EyeView,
    FrameView,
    MultisampleTarget,
    OffscreenTarget,
    Renderer,
)
from viewer.vr.scene_data import VRScene, detail_level
from viewer.vr.session import XRSession, XRSessionLost
from viewer.vr.story import StoryPlayer, camera_place, stop_place
from viewer.vr.xform import (
    forward_yaw,
    pose_matrix,
    transform_points,
    translation,
    yaw_matrix,
)

log = logging.getLogger(__name__)

NOTE_SECONDS = 2.5
CARD_DISTANCE = 1.4   # metres in front of the head, where a card stands...
CARD_SIDE = 0.5       # ...this far to the left, turned towards the visitor (the view stays free)
CARD_DROP = 0.1       # metres below eye height: read with a slightly lowered gaze
LOST = (xr.InstanceLostError, xr.SessionLostError, xr.RuntimeFailureError)
LOST_MESSAGE = ("the VR runtime ended the session (headset disconnected or runtime stopped); "
                "start it again and rerun stadtzeit vr")
_NOTES = {"de": {"no-change-data": "Keine Veränderungsdaten für diese Epoche",
                 "blocked": "Dort kann man nicht stehen"},
          "en": {"no-change-data": "No change data for this epoch",
                 "blocked": "You cannot stand there"}}


@dataclass
class VRResult:
    frames: int = 0                              # frames drawn (both eyes)
    submitted: int = 0                           # frames ended (drawn or not)
    states: list[str] = field(default_factory=list)
    runtime: str = ""
    system: str = ""
    graphics: str = ""
    space: str = ""
    eye_size: tuple[int, int] = (0, 0)
    color_format: int = 0
    depth_layer: bool = False
    profiles: list[str] = field(default_factory=list)   # interaction profiles accepted
    captures: dict[int, np.ndarray] = field(default_factory=dict)  # eye -> last frame's pixels
    work_ms: list[float] = field(default_factory=list)  # Python + GL submission per frame
    events: list[str] = field(default_factory=list)     # what the interaction did, in order
    stops: list[str] = field(default_factory=list)      # story stops shown, in order
    cards: list[str] = field(default_factory=list)      # titles of the cards opened
    stop_captures: dict[str, np.ndarray] = field(default_factory=dict)  # with capture_stops
    epoch: str = ""                                     # shown at the end
    mode: str = ""
    heatmap: bool = False
    stereo: str = ""                                    # "multiview" or "two-pass"
    last_views: list[EyeView] = field(default_factory=list)   # the last frame drawn: its eyes
    last_frame: FrameView | None = None                       # ...and what they showed


def _rot_x(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1, 0, 0, 0], [0, c, -s, 0], [0, s, c, 0], [0, 0, 0, 1.0]])


def _pose(p) -> np.ndarray:
    return pose_matrix((p.position.x, p.position.y, p.position.z),
                       (p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w))


def run_vr(scene: VRScene, epoch: str | None = None, frames: int | None = None,
           screenshot: Path | None = None, graphics: str = "auto",
           mode: Mode | str = Mode.LIFE_SIZE, heatmap: bool = False, language: str = "de",
           script: Callable[[int, InputFrame], InputFrame] | None = None,
           capture_last: bool = False, timeout_s: float | None = None,
           seated: bool = False, reset_after_s: float | None = 60.0,
           story: Story | None = None, capture_stops: bool = False,
           start_view: tuple[Sequence[float], Sequence[float]] | None = None,
           msaa: int = 4, stereo: str | None = None) -> VRResult:
    """Show `scene` in the headset until the user (or the runtime) ends the session, or for
    `frames` frames. `script(frame_number, input)` may replace the controllers' input (tests;
    `present=False` takes the headset off); `capture_last` keeps both eyes' pixels of the last
    frame in the result. `seated` calibrates the eye height to a standing adult's at the start;
    after `reset_after_s` without the headset worn, the visit starts again. With `story`, the
    visit is that guided tour: next/back step through its stops (the epoch buttons), and a
    visitor who does nothing is taken round it; `capture_stops` keeps the left eye's pixels of
    each stop once its fade is over (tests). `start_view` (camera position, focal point in the
    site frame: the desktop viewer's view) is where the visit starts. `msaa` samples per pixel
    (1: none), resolved into the swapchain images. `stereo`: "multiview" (both eyes in one
    pass, GL_OVR_multiview2), "two-pass" (one eye after the other) or "auto" (multiview where
    the driver has it); None: STADTZEIT_VR_STEREO, else auto."""
    result = VRResult()
    with stop_on_sigint() as stop, XRSession(graphics) as xs:
        result.runtime, result.system, result.graphics = (xs.runtime_name, xs.system_name,
                                                          xs.kind)
        result.space, result.depth_layer = xs.space_type, xs.depth_format is not None
        result.eye_size = (xs.eyes[0].width, xs.eyes[0].height)
        result.color_format = int(xs.color_format)
        try:
            _loop(xs, scene, result, stop, epoch, frames, screenshot, mode, heatmap,
                  language, script, capture_last, timeout_s, seated, reset_after_s, story,
                  capture_stops, start_view, msaa, stereo)
        except LOST as exc:        # the runtime died under us: no LOSS_PENDING first
            xs.lost = True
            log.debug("runtime lost: %r", exc)
        result.states = list(xs.states)
        if xs.lost:
            raise XRSessionLost(LOST_MESSAGE)
    return result


def _loop(xs: XRSession, scene: VRScene, result: VRResult, stop: StopFlag,
          epoch: str | None, frames: int | None, screenshot: Path | None, mode: Mode | str,
          heatmap: bool, language: str,
          script: Callable[[int, InputFrame], InputFrame] | None, capture_last: bool,
          timeout_s: float | None, seated: bool, reset_after_s: float | None,
          story: Story | None, capture_stops: bool,
          start_view: tuple[Sequence[float], Sequence[float]] | None, msaa: int,
          stereo: str | None) -> None:
    xs.context.make_current()
    depth = xs.depth_format or GL.GL_DEPTH_COMPONENT24
    result.stereo, renderer, layered = stereo_setup(
        scene, stereo, [(e.width, e.height) for e in xs.eyes], msaa, depth)
    multiview = layered is not None
    samples = [MultisampleTarget(eye.width, eye.height, msaa, depth) for eye in xs.eyes] \
        if msaa > 1 and not multiview else []
    actions = Actions(xs.instance, xs.session, xs.enabled_extensions)
    result.profiles = [p.profile for p in actions.profiles if p.accepted]
    # the first epoch's walkable surface now (the start point stands on it), the others in
    # the background: 2M triangles take a couple of seconds each
    start = scene.index(epoch)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="walk-surface")
    surfaces: list[WalkSurface | Future] = [
        WalkSurface(e.mesh.vertices, e.mesh.faces) if i == start else
        pool.submit(WalkSurface, e.mesh.vertices, e.mesh.faces)
        for i, e in enumerate(scene.epochs)]
    pool.shutdown(wait=False)
    inter = Interaction(surfaces, scene.bounds, [e.id for e in scene.epochs],
                        compare_with=[[c.a for c in e.changes] for e in scene.epochs],
                        start_epoch=start, mode=mode, heatmap=heatmap, floor_y=xs.floor_y,
                        seated=seated, reset_after_s=reset_after_s)
    player = StoryPlayer(story) if story is not None else None
    card: np.ndarray | None = None
    stop_to_capture: str | None = None
    name = scene.name.get(language) or scene.site_id
    panel_key: PanelState | None = None
    note, note_until = "", 0.0
    deadline = time.monotonic() + timeout_s if timeout_s else None
    last_views: list[EyeView] = []
    last_frame: FrameView | None = None
    try:
        while not xs.exiting:
            xs.poll()
            if xs.exiting:
                break
            if stop.is_set() or (deadline is not None and time.monotonic() > deadline):
                xs.request_exit()
                if deadline is not None and time.monotonic() > deadline + 15:
                    log.warning("the runtime did not end the session; leaving anyway")
                    break
            worn = xs.state in (xr.SessionState.VISIBLE, xr.SessionState.FOCUSED)
            if not xs.running:
                if inter.presence(False, time.monotonic()):    # headset off, no frames
                    result.events.append("reset")
                    if player is not None:
                        player.restart()
                time.sleep(0.005)      # IDLE or STOPPING: no frames; the runtime paces us
                continue
            fs = xs.wait_frame()
            t0 = time.perf_counter()
            now = fs.predicted_display_time / 1e9
            head = locate(xs.view_space, xs.space, fs.predicted_display_time)
            inp = actions.sync(xs.space, fs.predicted_display_time, now, head, xs.focused)
            if script is not None:
                inp = script(result.frames, inp)
            reset = inter.presence(worn and inp.present, time.monotonic())
            if player is not None:
                if reset:
                    player.restart()
                shown = player.step(time.monotonic(), inp.next_epoch, inp.previous_epoch)
                inp.next_epoch = inp.previous_epoch = False   # they step the story instead
                if shown is not None:
                    card = _show_stop(inter, renderer, scene, player, shown, language)
                    result.stops.append(shown.id)
                    stop_to_capture = shown.id if capture_stops else None
            if start_view is not None:        # the desktop's view, once the head is known
                place = camera_place(*start_view, inter.epoch_index, _ground_of(inter))
                inter.go_to(place.epoch, inter.heatmap, 0, place.miniature, place.site_point,
                            place.bearing)
                start_view = None
            events = ["reset"] * reset + inter.update(inp)
            if "select" in events:
                e = scene.epochs[inter.epoch_index]
                shown = e.changes[inter.change_index] if e.changes and inter.heatmap else None
                found = card_at(inter.pointed, e.id, scene.markers, shown, language)
                if found is not None:
                    card = _card_in_front(inter, renderer, found)
                    result.cards.append(found.title)
            result.events += events
            for ev in events:
                if ev in ("blocked", "no-change-data"):
                    note, note_until = _NOTES.get(language, _NOTES["en"])[ev], now + NOTE_SECONDS
                    for h in ("left", "right"):
                        actions.pulse(h, 0.8, 0.06)
                elif ev in ("teleport", "turn-left", "turn-right", "epoch", "scale", "compare",
                            "significant", "calibrated"):
                    actions.pulse("right", 0.3, 0.02)
            views = xs.locate_views(fs.predicted_display_time) if fs.should_render else None
            frame = None
            if views is not None:
                e = scene.epochs[inter.epoch_index]
                change = e.changes[inter.change_index] if e.changes else None
                state = PanelState(name, e.id, inter.epoch_index + 1, len(scene.epochs),
                                   inter.mode.value, inter.heatmap,
                                   change.a if change else None,
                                   change.limit if change else None,
                                   note if now < note_until else "", language,
                                   significant_only=inter.significant_only,
                                   scale=change.scale if change else None)
                if state != panel_key:
                    renderer.set_panel(render_panel(state))
                    panel_key = state
                hands = [(h, getattr(inp, h).aim) for h in ("left", "right")]
                hand_mats = [pose_matrix(a.position, a.orientation) @ translation((0, 0, 0.05))
                             for _, a in hands if a is not None]
                left = hands[0][1]
                panel = None
                if left is not None:
                    size = np.diag([PANEL_WIDTH, PANEL_WIDTH / renderer.panel_aspect(), 1.0, 1.0])
                    panel = (pose_matrix(left.position, left.orientation)
                             @ translation((0.0, 0.085, 0.02)) @ _rot_x(-0.6) @ size)
                fov = views[0].fov
                pixel = (fov.angle_right - fov.angle_left) / xs.eyes[0].width
                level = detail_level(e, _site_distance(inter, scene), pixel,
                                     inter.compared_with if inter.heatmap_visible else None)
                frame = FrameView(inter.stage_from_site(), inter.epoch_index,
                                  inter.heatmap_visible, inter.change_index, level,
                                  inter.significant_only, inter.fade,
                                  inter.mode == Mode.MINIATURE, inter.ground_y, inter.aim,
                                  hand_mats, panel, card)
                renderer.set_aim(inter.aim, frame.miniature)
                last = frames is not None and result.frames + 1 >= frames
                last_views = [EyeView(_pose(v.pose), (v.fov.angle_left, v.fov.angle_right,
                                                      v.fov.angle_up, v.fov.angle_down))
                              for v in views]
                with_depth = xs.depth_format is not None
                if layered is not None:     # both eyes at once, then into their swapchains
                    renderer.draw(layered.fbo, layered.width, layered.height, last_views,
                                  frame)
                for i, eye in enumerate(last_views):
                    fbo, w, h = xs.acquire(i)
                    if layered is not None:
                        layered.resolve(i, fbo, with_depth)
                    elif samples:
                        renderer.draw(samples[i].fbo, w, h, eye, frame)
                        samples[i].resolve(fbo, with_depth)
                    else:
                        renderer.draw(fbo, w, h, eye, frame)
                    if last and (capture_last or (screenshot is not None and i == 0)):
                        result.captures[i] = renderer.read_pixels(fbo, w, h)
                    if i == 0 and stop_to_capture and inter.fade == 0.0 and not inter.busy:
                        result.stop_captures[stop_to_capture] = renderer.read_pixels(fbo, w, h)
                        stop_to_capture = None
                    xs.release(i)
                last_frame = frame
                result.frames += 1
            xs.end_frame(fs, views, frame.near_far if frame else (0.05, 10000.0))
            result.submitted += 1
            result.work_ms.append((time.perf_counter() - t0) * 1e3)
            if frames is not None and result.frames >= frames:
                xs.request_exit()
        result.epoch, result.mode, result.heatmap = inter.epoch, inter.mode.value, inter.heatmap
        result.last_views, result.last_frame = last_views, last_frame
        if screenshot is not None:
            image = result.captures.get(0)
            if image is None and last_frame is not None:   # ended by the user: draw it again
                w, h = xs.eyes[0].width, xs.eyes[0].height
                if multiview:
                    target = LayeredTarget(w, h, 1, depth)
                    renderer.draw(target.fbo, w, h, last_views, last_frame)
                    image = target.read(0)
                else:
                    target = OffscreenTarget(w, h)
                    renderer.draw(target.fbo, w, h, last_views[0], last_frame)
                    image = target.read()
                target.destroy()
            if image is not None:
                from PIL import Image

                Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(image[:, :, :3]).save(screenshot)
    finally:
        try:
            xs.context.make_current()
            actions.destroy()
            renderer.destroy()
            for target in [*samples, *([layered] if layered else [])]:
                target.destroy()
        except (xr.XrException, RuntimeError) as exc:   # a lost runtime: nothing to free
            log.debug("cleanup after the session: %s", exc)


def _show_stop(inter: Interaction, renderer: Renderer, scene: VRScene, player: StoryPlayer,
               stop: Stop, language: str) -> np.ndarray:
    """Fade to a story stop's place and put its text on a card in front of the visitor;
    returns the card's stage-from-card matrix."""
    place = stop_place(stop, [e.id for e in scene.epochs], inter.compare_with,
                       _ground_of(inter))
    inter.go_to(place.epoch, place.heatmap, place.compare, place.miniature, place.site_point,
                place.bearing)
    n = len(player.story.stops)
    footer = f"{player.story.title.get(language)} · {player.index + 1}/{n}"
    image = scene.images.get(stop.image) if stop.image else None
    return _card_in_front(inter, renderer, CardState(stop.title.get(language),
                                                     stop.text.get(language), footer, image))


def _site_distance(inter: Interaction, scene: VRScene) -> float:
    """Site metres from the head to the nearest point of the site's box (at least 1 cm)."""
    head = transform_points(inter.site_from_stage(), np.array([inter.head.position]))[0]
    lo, hi = scene.bounds
    return max(float(np.linalg.norm(head - np.clip(head, lo, hi))), 0.01)


def _ground_of(inter: Interaction) -> Callable[[int, float, float], float | None]:
    """Walkable height of an epoch at (x, y), None where there is none (or not yet built)."""
    def ground(epoch: int, x: float, y: float) -> float | None:
        surface = inter.surface(epoch)
        hit = surface.drop(x, y) if surface is not None else None
        return None if hit is None or not hit.walkable else float(hit.point[2])
    return ground


def _card_in_front(inter: Interaction, renderer: Renderer, card: CardState) -> np.ndarray:
    """Put `card` in front of the visitor and a little to the left, turned to face them, a
    little below eye height; returns its stage-from-card matrix (it stays there while the
    visitor looks around)."""
    renderer.set_panel(render_card(card), "card")
    head = inter.head
    heading = forward_yaw(head.orientation)
    ahead = np.array([-math.sin(heading), 0.0, -math.cos(heading)])
    left = np.array([-math.cos(heading), 0.0, math.sin(heading)])
    where = (np.asarray(head.position, np.float64) + ahead * CARD_DISTANCE
             + left * CARD_SIDE)
    where[1] -= CARD_DROP
    facing = heading + math.atan2(CARD_SIDE, CARD_DISTANCE)
    size = np.diag([CARD_METRES, CARD_METRES / renderer.panel_aspect("card"), 1.0, 1.0])
    return translation(where) @ yaw_matrix(facing) @ size


__all__ = ["VRResult", "XRSessionLost", "run_vr"]
