"""View → Open in VR in the real desktop window: disabled, saying why, while no runtime
answers; the command it runs names the site, epoch and view, and `stadtzeit vr` accepts it."""

from __future__ import annotations

import os
import subprocess

import pytest
from viewer_fixtures import E2, SITE, build_archive, ensure_display

_no_display = ensure_display()  # before any QApplication exists
pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(_no_display is not None, reason=_no_display or "")]

from viewer.desktop.main_window import MainWindow  # noqa: E402


@pytest.fixture
def no_runtime(tmp_path, monkeypatch):
    for key in [k for k in os.environ if k.startswith(("XR_", "XDG_CONFIG"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "etc-xdg"))


def test_open_in_vr_says_why_it_is_off_and_runs_the_right_command(qtbot, tmp_path,
                                                                    no_runtime):
    arch = build_archive(tmp_path, epochs=("2019-05-02", E2))
    w = MainWindow(language="en")
    qtbot.addWidget(w)
    w.show()
    item = w.open_vr
    assert item.action in w.menus["view"].actions()
    qtbot.waitUntil(lambda: item.available is not None, timeout=15000)
    assert item.available is False and not item.action.isEnabled()
    assert "No VR runtime" in item.action.toolTip() and "docs/VR.md" in item.action.toolTip()
    w.open_archive(arch.root)
    qtbot.waitUntil(lambda: bool(w.model.sites), timeout=15000)
    w.open_site(SITE)
    qtbot.waitUntil(lambda: bool(w.view_area.primary.layers), timeout=15000)
    item._answered(True)                            # as if a headset had answered
    assert item.action.isEnabled() and "headset" in item.action.toolTip()
    cmd = item.command()
    assert cmd[cmd.index("--epoch") + 1] == w.model.epoch
    assert SITE in cmd and str(arch.root) in cmd
    view = next(a for a in cmd if a.startswith("--view="))
    assert len(view.split("=", 1)[1].split(",")) == 6
    # the real command parses it and, with no runtime here, says how to get one (exit 2)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))
    assert done.returncode == 2 and "no OpenXR runtime" in done.stderr, done.stderr
    w.set_language("de")
    assert item.action.text() != "Open in &VR"
