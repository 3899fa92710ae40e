"""The kiosk's configuration, PIN hash, sizes and contrast, and `stadtzeit kiosk --check`."""

from __future__ import annotations

import pytest
from viewer_fixtures import E1, E2, build_archive

from viewer.kiosk.config import (
    SCHEMA_PATH,
    KioskConfigError,
    hash_pin,
    parse_config,
    schema_text,
    verify_pin,
)
from viewer.kiosk.style import TEXT_PAIRS, Metrics, contrast

PIN = "2468"


# --------------------------------------------------------------------------- no window

def test_config_errors_name_every_field():
    with pytest.raises(KioskConfigError) as err:
        parse_config({"idle_seconds": 1, "sites": ["a", "a"], "pin_hash": "1234",
                      "nightly_restart": "25:00", "features": {"swipe": True},
                      "default_language": "fr"}, "k.toml")
    fields = {f for f, _ in err.value.problems}
    assert fields == {"idle_seconds", "sites", "pin_hash", "nightly_restart",
                      "features.swipe", "default_language"}
    assert "--hash-pin" in str(err.value)


def test_pin_hash_is_salted_and_verifies():
    a, b = hash_pin(PIN), hash_pin(PIN)
    assert a != b                                    # salted
    assert PIN not in a
    assert verify_pin(PIN, a) and verify_pin(PIN, b)
    assert not verify_pin("2469", a) and not verify_pin(PIN, None)
    assert parse_config({"pin_hash": a}).pin_hash == a
    with pytest.raises(ValueError):
        hash_pin("12")


def test_schema_file_is_current():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()


def test_readable_sizes_and_contrast():
    m = Metrics(1080)
    assert m.body >= 24 and m.small >= 24 and m.target >= 80
    assert Metrics(2160).body == 2 * m.body         # scales with the screen
    for name, (fg, bg) in TEXT_PAIRS.items():
        assert contrast(fg, bg) >= 4.5, name
    assert contrast("#777777", "#888888") < 4.5       # the check can fail


def test_check_command_names_fields_and_unknown_sites(tmp_path, capsys):
    from viewer.cli import main

    built = build_archive(tmp_path / "a", epochs=(E1, E2))
    bad = tmp_path / "kiosk.toml"
    bad.write_text('sites = ["testblock", "nowhere"]\nidle_seconds = 3\ncolour = 1\n')
    assert main(["kiosk", "--check", str(bad), "--archive", str(built.root)]) == 1
    err = capsys.readouterr().err
    assert "idle_seconds" in err and "colour" in err and "sites[1]" in err and "nowhere" in err
    good = tmp_path / "good.toml"
    good.write_text(f'sites = ["testblock"]\npin_hash = "{hash_pin(PIN)}"\n')
    assert main(["kiosk", "--check", str(good), "--archive", str(built.root)]) == 0


def test_counts_are_anonymous_and_local(tmp_path):
    import json

    from viewer.kiosk.counts import Counts

    path = tmp_path / "counts.json"
    c = Counts(path)
    c.session_started()
    c.site_opened("gasometer")
    c.site_opened("gasometer")
    c.story_started("what-changed")
    c.session_ended()
    c.session_ended()                                 # no session open: nothing counted
    day = next(iter(json.loads(path.read_text())["days"].values()))
    assert day["sessions"] == 1 and day["sites"] == {"gasometer": 2}
    assert day["stories"] == {"what-changed": 1} and day["dwell_seconds"] >= 0
    assert set(day) == {"sessions", "dwell_seconds", "sites", "stories"}
    off = Counts(None)                                # counts off: no file anywhere
    off.session_started()
    off.session_ended()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counts.json"]


def test_nightly_restart_time_and_attract_playlist():
    from datetime import datetime

    from viewer.kiosk.attract import playlist
    from viewer.kiosk.config import Attract
    from viewer.kiosk.supervisor import next_nightly

    now = datetime(2026, 5, 1, 3, 0)
    assert next_nightly("04:00", now) == datetime(2026, 5, 1, 4, 0)
    assert next_nightly("02:30", now) == datetime(2026, 5, 2, 2, 30)
    assert next_nightly(None, now) is None
    items = playlist(["a", "b"], {"a": ["story-a"]}, Attract())
    assert [(i.site, i.story) for i in items] == [("a", "story-a"), ("a", None), ("b", None)]
    items = playlist(["a"], {"a": ["story-a"]}, Attract(stories=False))
    assert [(i.site, i.story) for i in items] == [("a", None)]


def test_none_and_true_survive_pyside_calls_and_emits():
    import sys

    from PySide6.QtCore import QObject, Signal

    from viewer.qt.refcount import CONSTANTS, keep_constants_alive

    keep_constants_alive()
    keep_constants_alive()                             # once only
    if sys.version_info < (3, 12):
        assert all(2**40 < sys.getrefcount(c) < 2**41 for c in CONSTANTS)

    class Source(QObject):
        changed = Signal(int)

    source = Source()
    source.changed.connect(lambda _: None)
    before = sys.getrefcount(True)
    for i in range(20_000):   # more than True's whole count at start: fatal without the guard
        source.changed.emit(i)
    assert before - 20_000 <= sys.getrefcount(True) <= before
