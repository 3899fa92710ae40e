"""The museum kiosk: cold start, touch response while a site loads, orbit rate at 1920x1080
with real touch events, a soak of scripted visitor actions, and recovery after SIGKILL.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python benchmarks/bench_kiosk.py \
        --archive PATH [--soak-seconds 600] [--runs 3] [--json out.json]

Without --archive a synthetic three-epoch archive (tests/viewer_fixtures.py, with a story) is
written to a temporary folder. Every figure is measured on what a visitor uses: the real window,
input through Qt's event system (QTest touch events), frames counted from VTK's render window.

- cold start: `python -m viewer.kiosk.app` started as a process until its heartbeat says
  "attract" with at least one frame drawn (median of --runs).
- touch -> response: on Home, a touch on a site tile; the time until the site screen is shown
  and painted, and the longest event-loop gap (a 5 ms timer's late ticks) from the touch until
  the site's meshes and the other thumbnails are loaded.
- orbit: one-finger drags on the 3D view at 1920x1080, each touch move followed by the frame
  it causes (interaction LOD on, as the kiosk runs); frames per second.
- soak: random visitor actions (taps on tiles, years and modes, swipe drags, orbit drags,
  pinches, stories, language switches, idle -> attract -> touch) for --soak-seconds; RSS after
  a warm-up and at the end, its trend from the fifth minute (also without the meshes the cache
  holds), the longest event-loop stall, full garbage collections, and errors logged. The
  allocator is set up as the kiosk sets it up (viewer/allocator.py; STADTZEIT_MALLOC=default
  measures glibc's own), and the kiosk has settled in (viewer/kiosk/settle.py;
  STADTZEIT_SETTLE=no measures without).
- recovery: the supervisor with a running kiosk (and its warm spare, 20 s after the last
  start); SIGKILL of the UI process until the new one's heartbeat says "attract" with a frame
  drawn (median of --runs).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def heartbeat(path: Path):
    try:
        t, screen, frames, pid = path.read_text().split()
        return float(t), screen, int(frames), int(pid)
    except (OSError, ValueError):
        return None


def wait_beat(path: Path, cond, timeout: float = 120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        b = heartbeat(path)
        if b and cond(b):
            return b
        time.sleep(0.01)
    raise TimeoutError(f"no heartbeat matching in {timeout} s")


def make_archive(base: Path) -> Path:
    from viewer_fixtures import E1, E2, E3, SITE, build_archive

    from viewer.model.stories import save_story

    built = build_archive(base, epochs=(E1, E2, E3), lods=(0, 1))
    cam = {"position": [-80.0, -110.0, 90.0], "focal_point": [0.0, 0.0, 0.0]}
    stops = [{"id": f"s{i}", "title": {"en": f"Stop {i}"}, "text": {"en": "Text."},
              "camera": cam, "epoch": e} for i, e in enumerate((E1, E2, E3))]
    save_story(built.archive, {"id": "tour", "site": SITE, "title": {"en": "Tour"},
                               "stops": stops}, user="bench")
    return built.root


# --------------------------------------------------------------------------- processes

def cold_start(archive: Path, runs: int) -> dict:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            beat = Path(tmp) / "hb"
            t0 = time.monotonic()
            p = subprocess.Popen([sys.executable, "-m", "viewer.kiosk.app", "--archive",
                                  str(archive), "--heartbeat", str(beat), "--size", "1920x1080"],
                                 env={**os.environ, "PYTHONPATH": str(ROOT)},
                                 stderr=subprocess.DEVNULL)
            try:
                wait_beat(beat, lambda b: b[1] == "attract" and b[2] > 0)
                times.append(time.monotonic() - t0)
            finally:
                p.kill()
                p.wait()
    return {"cold_start_s": times, "cold_start_median_s": statistics.median(times)}


def recovery(archive: Path, runs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        beat = Path(tmp) / "hb"
        code = ("import sys; from pathlib import Path; from viewer.kiosk.supervisor import "
                "Supervisor; sys.exit(Supervisor(['--archive', sys.argv[1], '--size', "
                "'1920x1080'], heartbeat=Path(sys.argv[2])).run())")
        sup = subprocess.Popen([sys.executable, "-c", code, str(archive), str(beat)],
                               env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stderr=subprocess.DEVNULL)
        times = []
        try:
            pid = wait_beat(beat, lambda b: b[1] == "attract" and b[2] > 0)[3]
            for _ in range(runs):
                time.sleep(20.0)   # the supervisor's warm spare is ready (crashes are rare)
                pid = wait_beat(beat, lambda b: b[1] == "attract" and b[2] > 0)[3]
                t0 = time.monotonic()
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:  # the supervisor replaced it meanwhile (a hang)
                    continue
                new = wait_beat(beat, lambda b, old=pid: b[1] == "attract" and b[3] != old
                                and b[2] > 0)
                times.append(time.monotonic() - t0)
                pid = new[3]
        finally:
            sup.send_signal(signal.SIGTERM)
            sup.wait(30)
    return {"recovery_s": times, "recovery_median_s": statistics.median(times)}


# --------------------------------------------------------------------------- in process

class GapMeter:
    """The event loop's responsiveness: a 5 ms timer; a late tick is a stall."""

    def __init__(self):
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.last = time.perf_counter()
        self.gaps: list[float] = []

    def _tick(self):
        now = time.perf_counter()
        self.gaps.append(now - self.last)
        self.last = now

    def start(self):
        self.gaps = []
        self.last = time.perf_counter()
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return self.gaps


class GcMeter:
    """Full (generation-2) garbage collections: how long each held the GIL, on any thread."""

    def __init__(self):
        self.pauses: list[float] = []
        self._t0 = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._t0)

    def stop(self) -> None:
        gc.callbacks.remove(self._callback)


def pump(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)


def wait_for(app, cond, timeout: float = 60.0) -> None:
    end = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > end:
            raise TimeoutError("kiosk did not get there in time")
        app.processEvents()
        time.sleep(0.001)


class Visitor:
    """Real input through Qt: touch events on the kiosk window."""

    def __init__(self, w):
        from PySide6.QtTest import QTest

        self.w, self.QTest = w, QTest
        self.device = QTest.createTouchDevice()

    def send(self, *ops):
        """One touch event; it commits in the sequence's destructor, because PySide6's
        `commit()` drops a reference to None per call (thousands end in 'none_dealloc')."""
        seq = self.QTest.touchEvent(self.w, self.device)
        for op, finger, point in ops:
            getattr(seq, op)(finger, point, self.w)
        del seq

    def tap(self, widget, pos=None):
        p = widget.mapTo(self.w, pos if pos is not None else widget.rect().center())
        self.send(("press", 0, p))
        self.send(("release", 0, p))

    def drag(self, widget, start, end, steps=10, per_step=None):
        a, b = widget.mapTo(self.w, start), widget.mapTo(self.w, end)
        self.send(("press", 0, a))
        for k in range(1, steps + 1):
            self.send(("move", 0, a + (b - a) * (k / steps)))
            if per_step:
                per_step()
        self.send(("release", 0, b))

    def pinch(self, widget, spread=1.5, steps=8):
        from PySide6.QtCore import QPoint

        c = widget.mapTo(self.w, widget.rect().center())
        d = QPoint(100, 0)
        self.send(("press", 0, c - d), ("press", 1, c + d))
        for k in range(1, steps + 1):
            d = QPoint(round(100 * (1 + (spread - 1) * k / steps)), 0)
            self.send(("move", 0, c - d), ("move", 1, c + d))
        self.send(("release", 0, c - d), ("release", 1, c + d))


class ErrorCount(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record):
        self.records.append(self.format(record))


def rss_trend(samples: list[tuple[float, float]], after_s: float, name: str = "rss") -> dict:
    late = [(t, mb) for t, mb in samples if t >= after_s]
    if len(late) < 3:
        return {}
    t, mb = np.array(late).T
    slope = float(np.polyfit(t, mb, 1)[0])
    return {f"soak_{name}_growth_after_5min_mb": float(mb[-1] - mb[0]),
            f"soak_{name}_slope_mb_per_10min": slope * 600.0}


def in_process(archive: Path, soak_seconds: float, seed: int = 1,
               cache_mb: float | None = None, soak_actions: int = 0) -> dict:
    from PySide6.QtCore import QEventLoop, QPoint, QTimer
    from PySide6.QtWidgets import QApplication

    from viewer.allocator import return_freed_memory
    from viewer.kiosk.config import KioskConfig
    from viewer.kiosk.settle import SettleIn
    from viewer.kiosk.window import KioskWindow

    tuned = return_freed_memory()        # as viewer.kiosk.app does (STADTZEIT_MALLOC=default: not)
    app = QApplication.instance() or QApplication([])
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    w = KioskWindow(KioskConfig(default_language="de"), archive, size=(1920, 1080),
                    start="home")
    if cache_mb is not None:   # a small mesh cache fills early: growth after that is a leak
        w.controller.cache.max_bytes = int(cache_mb * 1e6)
    w.show_kiosk()
    v = Visitor(w)
    meter = GapMeter()
    from viewer.render.vtk_view import software_gl
    out: dict = {"presentation": "raster" if software_gl() else "OpenGL",
                 "malloc": "thresholds fixed" if tuned else "default"}
    # the kiosk settles in after its first frame (viewer/kiosk/settle.py); one started in the
    # morning has done so before its first visitor. STADTZEIT_SETTLE=no measures without.
    if os.environ.get("STADTZEIT_SETTLE", "") != "no":
        settle = SettleIn(w)
        t0 = time.perf_counter()
        settle.start()
        wait_for(app, lambda: settle.done, 120)
        out["settle_in_s"] = time.perf_counter() - t0
    full_gc = GcMeter()

    # touch -> response while the site loads (thumbnails of the others still coming)
    wait_for(app, lambda: bool(w.home.tiles))
    pump(app, 1.0)                       # laid out and shown
    site = next(iter(w.home.tiles))
    painted = []
    w.view.rendered.connect(lambda: painted.append(time.perf_counter()))
    meter.start()
    t0 = time.perf_counter()
    v.tap(w.home.tiles[site])
    wait_for(app, lambda: w.screen_name == "site")
    out["touch_to_site_screen_ms"] = (time.perf_counter() - t0) * 1000
    wait_for(app, lambda: w.controller.loader.idle and bool(w.view.layers))
    first = next((p for p in painted if p >= t0), None)
    out["touch_to_first_3d_frame_ms"] = (first - t0) * 1000 if first else None
    pump(app, 0.3)
    gaps = meter.stop()
    out["load_gap_max_ms"] = max(gaps) * 1000
    out["load_gap_p95_ms"] = statistics.quantiles(gaps, n=20)[-1] * 1000
    out["load_duration_s"] = time.perf_counter() - t0

    # orbit with one finger at 1920x1080: each move waits for the frame it causes to reach
    # the screen (frameSwapped); fps from the swaps of each drag (the first move of a touch
    # only sets its start and draws nothing)
    pump(app, 0.5)
    plot = w.view.plotter
    c = plot.rect().center()
    swaps: list[float] = []
    plot.frameSwapped.connect(lambda: swaps.append(time.perf_counter()))

    # wait as Qt's event loop does, asleep until an event comes (a busy loop here would take a
    # core from the renderer: with frames drawn on their own thread that is not the user's case)
    wake = QTimer()
    wake.start(20)

    def frame():
        n = len(swaps)
        end = time.perf_counter() + 0.2
        while len(swaps) == n and time.perf_counter() < end:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)

    rates = []
    for k in range(4):
        first = len(swaps)
        v.drag(plot, c, c + QPoint(300 if k % 2 == 0 else -300, 40), steps=30,
               per_step=frame)
        drawn = swaps[first:]
        rates.append((len(drawn) - 1) / (drawn[-1] - drawn[0]))
    out["orbit_fps_1920x1080"] = statistics.median(rates)
    out["orbit_frames"] = len(swaps)
    out["orbit_render_scale"] = plot.render_scale if w.controller.interacting else None
    wake.stop()

    # soak
    rng = random.Random(seed)
    actions = 0
    warm_rss = None
    t_start = time.perf_counter()
    meter.start()
    max_stall, stalls = 0.0, 0
    full_gc.pauses.clear()
    rss_samples = []
    cache_samples = []    # the mesh cache's own count: what of the RSS is meshes kept on purpose

    def act():
        nonlocal actions
        actions += 1
        r = rng.random()
        if w.screen_name == "attract":
            v.tap(w.view.plotter)
        elif w.screen_name == "home":
            if r < 0.2:
                v.tap(w.language.buttons[rng.choice(["de", "en"])])
            else:
                v.tap(w.home.tiles[rng.choice(list(w.home.tiles))])
        elif w.player.playing and r < 0.6:
            v.tap(rng.choice([w.story_card.next, w.story_card.next, w.story_card.back]))
        elif r < 0.2:
            buttons = list(w.timeline.buttons.values())
            if buttons and w.timeline.isVisible():
                v.tap(rng.choice(buttons))
        elif r < 0.35:
            names = [n for n, b in w.modes.buttons.items() if b.isVisible()]
            v.tap(w.modes.buttons[rng.choice(names)])
        elif r < 0.5:
            cc = plot.rect().center()
            v.drag(plot, cc, cc + QPoint(rng.randint(-300, 300), rng.randint(-100, 100)),
                   steps=6)
        elif r < 0.58:
            v.pinch(plot, rng.choice([0.7, 1.4]))
        elif r < 0.66 and w.swipe.isVisible():
            h = w.swipe.rect().center()
            v.drag(w.swipe, h, h + QPoint(rng.randint(-400, 400), 0), steps=6)
        elif r < 0.74:
            v.tap(w.language.buttons[rng.choice(["de", "en"])])
        elif r < 0.8:
            v.tap(w.top.home_button)
        elif r < 0.84:
            w.start_attract()              # the idle timeout, without waiting 90 s
        else:
            v.tap(w.view.plotter)

    while time.perf_counter() - t_start < soak_seconds or actions < soak_actions:
        act()
        pump(app, rng.uniform(0.01, 0.1))
        if w.controller.loader.jobs:
            wait_for(app, lambda: w.controller.loader.idle, 60)
        elapsed = time.perf_counter() - t_start
        if warm_rss is None and (elapsed > min(60, soak_seconds / 4)):
            warm_rss = rss_mb()
        if actions % 200 == 0:
            rss_samples.append((round(elapsed, 1), round(rss_mb(), 1)))
            cache_samples.append((round(elapsed, 1), round(w.controller.cache.nbytes / 2**20, 1)))
            if meter.gaps:
                max_stall = max(max_stall, max(meter.gaps))
                stalls += sum(g > 0.25 for g in meter.gaps)
            meter.start()
    gaps = meter.stop()
    if gaps:
        max_stall = max(max_stall, max(gaps))
        stalls += sum(g > 0.25 for g in gaps)
    out.update({
        "soak_seconds": time.perf_counter() - t_start, "soak_actions": actions,
        "soak_rss_warm_mb": warm_rss, "soak_rss_end_mb": rss_mb(),
        "soak_rss_growth_mb": rss_mb() - (warm_rss or rss_mb()),
        # the mesh cache fills over the first minutes of a long soak: growth from the fifth
        # minute and the trend (least squares over what follows it) tell a leak from a filling
        **rss_trend(rss_samples, after_s=300.0),
        # the same without the meshes the cache holds: what grows outside it
        **rss_trend([(t, r - c) for (t, r), (_, c) in zip(rss_samples, cache_samples,
                                                           strict=True)],
                    after_s=300.0, name="rss_outside_cache"),
        "soak_rss_samples": rss_samples, "soak_cache_samples": cache_samples,
        "soak_max_stall_ms": max_stall * 1000, "soak_stalls_over_250ms": stalls,
        "soak_full_gc_count": len(full_gc.pauses),
        "soak_full_gc_max_ms": max(full_gc.pauses, default=0.0) * 1000,
        "soak_errors": errors.records[:20],
        "soak_error_count": len(errors.records), "dialogs_closed": w.dialogs_closed,
    })
    full_gc.stop()
    w.exit_allowed = True
    w.close()
    return out


def screenshots(archive: Path, out: Path, language: str = "en") -> list[Path]:
    """docs/screenshots/kiosk-*.png at 1920x1080: Home, a site, What changed?, a story stop and
    the attract loop, from the real window (`QWidget.grab`, with the 3D view's frame)."""
    from PySide6.QtWidgets import QApplication

    from viewer.kiosk.config import KioskConfig
    from viewer.kiosk.window import KioskWindow

    app = QApplication.instance() or QApplication([])
    w = KioskWindow(KioskConfig(default_language=language), archive, size=(1920, 1080),
                    start="home")
    w.show_kiosk()
    out.mkdir(parents=True, exist_ok=True)
    saved = []

    def settle(extra: float = 0.5):
        pump(app, 0.3)
        wait_for(app, lambda: w.controller.loader.idle, 120)
        pump(app, extra)
        w.view.render_now()
        w.view.plotter.finish()  # drawn (on software GL in the frame thread), then painted
        pump(app, 0.2)

    def shot(name: str):
        path = out / f"kiosk-{name}.png"
        w.grab().save(str(path))
        saved.append(path)

    wait_for(app, lambda: bool(w.home.tiles))
    wait_for(app, lambda: all(t.image.pixmap() is not None and not t.image.pixmap().isNull()
                              for t in w.home.tiles.values()), 120)
    settle()
    shot("home")
    site = next(iter(w.home.tiles))
    w.open_site(site)
    settle(1.0)
    w.pick_epoch(w.model.site.epoch_ids[-1])
    settle(1.0)
    shot("site")
    w.choose_mode("changes")
    settle(1.5)
    w.view.request_render()
    settle(0.5)
    shot("changed")
    w.choose_mode("stories")
    if w.player.playing and len(w.player.story.stops) > 2:
        w.player.next()
        w.player.next()
    settle(2.0)
    wait_for(app, lambda: w.player.glide.state() != w.player.glide.State.Running, 30)
    settle(1.0)
    shot("story")
    w.start_attract()
    settle(4.0)
    shot("attract")
    w.exit_allowed = True
    w.close()
    return saved


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archive", type=Path)
    ap.add_argument("--soak-seconds", type=float, default=120.0)
    ap.add_argument("--soak-actions", type=int, default=0,
                    help="go on past --soak-seconds until this many actions were made")
    ap.add_argument("--cache-mb", type=float, help="the mesh cache's budget (default 1,500 MB: "
                    "RSS grows while it fills; a small one separates that from a leak)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip", nargs="*", default=[], choices=["cold", "recovery", "ui"])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--screenshots", type=Path, metavar="DIR",
                    help="only write the kiosk-*.png screenshots into DIR")
    args = ap.parse_args()
    if args.screenshots:
        for p in screenshots(args.archive or make_archive(Path(tempfile.mkdtemp())),
                             args.screenshots):
            print(p)
        return 0
    logging.basicConfig(level=logging.WARNING)
    tmp = tempfile.TemporaryDirectory()
    archive = args.archive or make_archive(Path(tmp.name))
    result: dict = {"archive": str(archive), "cpu": os.cpu_count()}
    if "cold" not in args.skip:
        result.update(cold_start(archive, args.runs))
        print(json.dumps({k: v for k, v in result.items() if "cold" in k}), flush=True)
    if "recovery" not in args.skip:
        result.update(recovery(archive, args.runs))
        print(json.dumps({k: v for k, v in result.items() if "recovery" in k}), flush=True)
    if "ui" not in args.skip:
        result.update(in_process(archive, args.soak_seconds, cache_mb=args.cache_mb,
                                 soak_actions=args.soak_actions))
    print(json.dumps(result, indent=1, default=str))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
