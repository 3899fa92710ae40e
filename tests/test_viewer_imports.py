"""The first switch to Change imports the processing layer (scipy, processing.change) only in
worker threads, never on the UI thread (it froze the window for ~1 s)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from viewer_fixtures import E1, E2, build_archive, ensure_display

_no_display = ensure_display()
pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(_no_display is not None, reason=_no_display or "")]

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import sys, threading, time
    HEAVY = ("scipy", "processing.change", "processing.compare", "sklearn", "open3d")
    on_ui = []

    class Watch:
        def find_spec(self, name, path=None, target=None):
            if threading.current_thread() is threading.main_thread() and \\
                    name.startswith(HEAVY) and name not in sys.modules:
                on_ui.append(name)
            return None

    sys.meta_path.insert(0, Watch())
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication(sys.argv[:1])
    from viewer.desktop.main_window import MainWindow
    from viewer.model.state import CompareMode

    def wait(cond, timeout=120):
        end = time.time() + timeout
        while not cond():
            assert time.time() < end, "timeout"
            loop = QEventLoop(); QTimer.singleShot(20, loop.quit); loop.exec()

    w = MainWindow(language="en"); w.resize(1000, 700); w.show()
    w.open_archive(sys.argv[1]); wait(lambda: bool(w.model.sites))
    w.open_site(sys.argv[2]); wait(lambda: bool(w.view_area.primary.layers))
    before = list(on_ui)
    w.model.set_compare_mode(CompareMode.HEATMAP)
    wait(lambda: w.model.change is not None)
    wait(lambda: w.controller.loader.idle)
    print("UI-THREAD-IMPORTS", sorted(set(on_ui) - set(before)))
    w.close()
""")


@pytest.mark.parametrize("pair", [(E1, E2), (E2, None)])
def test_first_change_imports_no_processing_on_the_ui_thread(tmp_path, pair) -> None:
    """A stored product (E1 -> E2) and one the viewer computes (E2 -> E3)."""
    from viewer_fixtures import E3, SITE

    epochs = (E1, E2) if pair[1] else (E1, E2, E3)
    arch = build_archive(tmp_path, epochs=epochs)
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(arch.root), SITE], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("UI-THREAD-IMPORTS")),
                None)
    assert line is not None, out.stderr[-2000:]
    assert line == "UI-THREAD-IMPORTS []", line
