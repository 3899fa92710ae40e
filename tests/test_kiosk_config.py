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
