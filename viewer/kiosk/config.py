"""`kiosk.toml`: what a museum's kiosk shows and how it behaves (no Qt: `--check` runs headless).

Example (every key optional)::

    archive = "/srv/stadtzeit/archive"
    sites = ["gasometer-demo"]            # shown in this order; empty: every site
    default_language = "de"
    idle_seconds = 90
    pin_hash = "pbkdf2_sha256$200000$…"   # from `stadtzeit kiosk --hash-pin`
    admin_corner = "top-left"
    nightly_restart = "04:00"

    [attract]
    stories = true
    turntable_seconds = 30
    stop_seconds = 10

    [features]
    compare = true
    changes = true
    stories = true

    [counts]                              # anonymous, local only
    enabled = false
    path = "/var/lib/stadtzeit/kiosk-counts.json"

The JSON Schema ships as ``viewer/kiosk/schema/kiosk.schema.json`` (regenerate with
``python -m viewer.kiosk.config``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assets_manifest.errors import StadtzeitError
from assets_manifest.models import format_field_path
from assets_manifest.schema import json_schema_document, json_text

SCHEMA_PATH = Path(__file__).with_name("schema") / "kiosk.schema.json"
PIN_ITERATIONS = 200_000
_PIN_RE = re.compile(r"^pbkdf2_sha256\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")


class KioskConfigError(StadtzeitError):
    """``problems``: ``(field, reason)`` pairs, one per problem found."""

    def __init__(self, path: object, problems: list[tuple[str, str]]):
        self.path = str(path)
        self.problems = problems
        lines = [f"{self.path}: {f}: {r}" if f else f"{self.path}: {r}" for f, r in problems]
        super().__init__("invalid kiosk configuration\n" + "\n".join("  " + x for x in lines))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Attract(_Strict):
    stories: bool = Field(True, description="play the sites' stories in the attract loop")
    turntable_seconds: float = Field(30.0, ge=5, le=600,
                                     description="seconds of slow turntable per site")
    stop_seconds: float = Field(10.0, ge=3, le=120, description="seconds per story stop")
    degrees_per_second: float = Field(6.0, gt=0, le=60, description="turntable speed")


class Features(_Strict):
    timeline: bool = Field(True, description="the epoch timeline on a site")
    compare: bool = Field(True, description="the before/after swipe")
    changes: bool = Field(True, description="the 'What changed?' view")
    stories: bool = Field(True, description="guided stories on a site")


class Counts(_Strict):
    enabled: bool = Field(False, description="keep anonymous counts (sessions, sites, "
                                             "stories, dwell time) in a local file")
    path: Path = Field(Path("kiosk-counts.json"),
                       description="local JSON file of the counts (never the archive)")


class KioskConfig(_Strict):
    archive: Path | None = Field(None, description="the archive folder (read-only); "
                                                   "--archive overrides it")
    sites: list[str] = Field(default_factory=list,
                             description="site ids in the order shown; empty: every site")
    default_language: Literal["de", "en"] = "de"
    idle_seconds: float = Field(90.0, ge=10, le=3600,
                                description="seconds without a touch before the attract loop")
    pin_hash: str | None = Field(None, description="salted PIN hash from "
                                                   "`stadtzeit kiosk --hash-pin`; without it "
                                                   "the admin exit is disabled")
    admin_corner: Literal["top-left", "top-right", "bottom-left", "bottom-right"] = "top-left"
    admin_hold_seconds: float = Field(5.0, ge=2, le=30)
    nightly_restart: str | None = Field(None, description="HH:MM local time of a daily "
                                                          "restart, e.g. '04:00'")
    hang_seconds: float = Field(10.0, ge=3, le=120,
                                description="the supervisor restarts a kiosk that shows no "
                                            "frame for this long")
    attract: Attract = Field(default_factory=Attract)
    features: Features = Field(default_factory=Features)
    counts: Counts = Field(default_factory=Counts)

    @field_validator("sites")
    @classmethod
    def _unique(cls, sites: list[str]) -> list[str]:
        dup = sorted({s for s in sites if sites.count(s) > 1})
        if dup:
            raise ValueError(f"listed twice: {', '.join(dup)}")
        return sites

    @field_validator("pin_hash")
    @classmethod
    def _pin(cls, v: str | None) -> str | None:
        if v is not None and not _PIN_RE.match(v):
            raise ValueError("not a PIN hash: make one with `stadtzeit kiosk --hash-pin` and "
                             "paste the whole line (pbkdf2_sha256$...)")
        return v

    @field_validator("nightly_restart")
    @classmethod
    def _time(cls, v: str | None) -> str | None:
        if v is not None:
            m = re.match(r"^(\d{1,2}):(\d{2})$", v)
            if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
                raise ValueError(f"{v!r} is not a time of day: write it like '04:00'")
        return v


def _reason(err: Mapping[str, Any]) -> str:
    error = err.get("ctx", {}).get("error")
    if err["type"] == "value_error" and error is not None:
        return str(error)
    if err["type"] == "extra_forbidden":
        return "is not a kiosk setting (spelling?)"
    return f"{err['msg']} (got {json.dumps(err.get('input'), default=str)[:60]})"


def parse_config(data: Any, name: str = "kiosk.toml") -> KioskConfig:
    if not isinstance(data, Mapping):
        raise KioskConfigError(name, [("", "must be a table of settings")])
    try:
        return KioskConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise KioskConfigError(name, [(format_field_path(e["loc"], data) or "", _reason(e))
                                      for e in exc.errors(include_url=False)]) from None


def load_config(path: Path | None) -> KioskConfig:
    """The config at `path` (None: all defaults); relative paths in it start at its folder."""
    if path is None:
        return KioskConfig()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KioskConfigError(path, [("", "no such file; write one (see docs/KIOSK.md)")]) \
            from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KioskConfigError(path, [("", f"cannot read: {exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise KioskConfigError(path, [("", f"not valid TOML: {exc}")]) from None
    config = parse_config(data, str(path))
    base = path.parent.absolute()
    updates: dict[str, Any] = {}
    if config.archive is not None and not config.archive.is_absolute():
        updates["archive"] = base / config.archive
    if not config.counts.path.is_absolute():
        updates["counts"] = config.counts.model_copy(update={"path": base / config.counts.path})
    return config.model_copy(update=updates)


def check_against_archive(config: KioskConfig, site_ids: list[str],
                          name: str = "kiosk.toml") -> list[tuple[str, str]]:
    """Problems that need the archive: listed sites that it does not hold."""
    known = ", ".join(site_ids) or "(none)"
    return [(f"sites[{i}]", f"the archive has no site {s!r}; it has: {known}")
            for i, s in enumerate(config.sites) if s not in site_ids]


# --------------------------------------------------------------------------- the PIN

def hash_pin(pin: str, salt: bytes | None = None, iterations: int = PIN_ITERATIONS) -> str:
    """A salted PBKDF2-SHA256 hash of a PIN, as one line for `pin_hash`."""
    if not re.fullmatch(r"\d{4,12}", pin):
        raise ValueError("a PIN is 4 to 12 digits")
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return (f"pbkdf2_sha256${iterations}${base64.b64encode(salt).decode()}$"
            f"{base64.b64encode(digest).decode()}")


def verify_pin(pin: str, stored: str | None) -> bool:
    m = _PIN_RE.match(stored or "")
    if not m:
        return False
    iterations, salt, want = int(m.group(1)), base64.b64decode(m.group(2)), \
        base64.b64decode(m.group(3))
    got = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return hmac.compare_digest(got, want)


# --------------------------------------------------------------------------- schema

def config_json_schema() -> dict[str, Any]:
    return json_schema_document(KioskConfig, "stadtzeit kiosk configuration",
                                "kiosk.toml of `stadtzeit kiosk`; see docs/KIOSK.md.")


def schema_text() -> str:
    return json_text(config_json_schema())


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(schema_text(), encoding="utf-8")
    print(target)
