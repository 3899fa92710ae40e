"""The kiosk settles in after its first frame (viewer/kiosk/settle.py): the change modules are
imported off the UI thread, then the start-up objects are frozen out of the garbage collector's
walk, while what is made later is still collected. In a child process: a freeze is for life."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import gc, json, sys, threading, weakref
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication
from viewer.kiosk import settle

app = QApplication([])
got = {"before": [m for m in settle.WARM_MODULES if m in sys.modules]}

class View(QObject):          # what SettleIn needs of the kiosk's view: its frames
    rendered = Signal()

mode = sys.argv[1]
settle.LATEST_S = 0.3 if mode == "no frame" else 600
view = View()
s = settle.SettleIn()
s.settled.connect(lambda: got.update(main_thread=threading.current_thread() is
                                     threading.main_thread()))
s.settled.connect(app.quit)
s.after_first_frame(view)
QTimer.singleShot(100, lambda: got.update(started_before_frame=s._thread is not None))
if mode == "frame":
    QTimer.singleShot(200, view.rendered.emit)
QTimer.singleShot(120_000, app.quit)
app.exec()
view.rendered.emit()          # a later frame starts nothing again

got["after"] = [m for m in settle.WARM_MODULES if m in sys.modules]
got["frozen"] = gc.get_freeze_count()
got["done"] = s.done

class Cycle:
    pass

c = Cycle(); c.me = c; ref = weakref.ref(c); del c
gc.collect()
got["later_cycle_collected"] = ref() is None
print(json.dumps(got))
"""


def probe(mode: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", PROBE, mode], env=env, capture_output=True,
                         text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_settles_in_after_the_first_frame():
    got = probe("frame")
    assert got["before"] == []
    assert got["started_before_frame"] is False
    assert got["done"] is True and got["main_thread"] is True
    assert set(got["after"]) == {"open3d", "processing.compare", "processing.change.c2m",
                                 "processing.change.regions"}
    assert got["frozen"] > 50_000            # Qt, numpy, Open3D, SciPy... out of the walk
    assert got["later_cycle_collected"] is True


def test_settles_in_without_a_frame_too():
    got = probe("no frame")
    assert got["done"] is True
    assert len(got["after"]) == 4
