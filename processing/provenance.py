"""Provenance of an epoch's products (`epochs/<id>/epoch.json`), in the spirit of PREMIS.

The record says where every product came from: input digests, software versions, the preset and
its overrides, the registration transform and residuals, counts, timings, and an event list
(ingestion, fixity check, format validation, registration, ...), each with time and outcome.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Bump when the products of the same inputs and preset would change (a new algorithm, a fixed
# bug): re-ingesting then makes a new version instead of answering "unchanged".
PIPELINE_VERSION = "2"  # 2: stable-area registration, registration modes, feet heights

_PACKAGES = ["stadtzeit", "numpy", "scipy", "open3d", "laspy", "lazrs", "pye57", "pyproj",
             "trimesh", "fast-simplification", "pykdtree", "ocfl-py"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def sha512_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha512()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def software_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "pipeline": PIPELINE_VERSION}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


@dataclass
class Provenance:
    """Collects what happened while one epoch was processed; `to_dict()` is epoch.json."""

    site: str
    epoch: str
    inputs: list[dict[str, Any]] = field(default_factory=list)
    preset: dict[str, Any] = field(default_factory=dict)
    input_key: str = ""
    registration: dict[str, Any] = field(default_factory=dict)
    statistics: dict[str, Any] = field(default_factory=dict)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    def event(self, kind: str, outcome: str, detail: str = "", **extra: Any) -> None:
        self.events.append({"type": kind, "time": now_iso(), "outcome": outcome,
                            "detail": detail, **extra})

    @contextmanager
    def stage(self, name: str):
        """Time a stage; the timing lands in `timings[name]` (seconds)."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - t0, 4)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "stadtzeit-epoch-provenance/1",
            "site": self.site,
            "epoch": self.epoch,
            "created": now_iso(),
            "input_key": self.input_key,
            "inputs": self.inputs,
            "preset": self.preset,
            "software": software_versions(),
            "registration": self.registration,
            "statistics": self.statistics,
            "products": self.products,
            "timings_s": self.timings,
            "events": self.events,
        }


def input_key(source_digests: list[str], preset: dict[str, Any], extra: dict[str, Any]) -> str:
    """A digest of everything that determines an epoch's products.

    Equal keys mean re-ingesting would produce the same products, so nothing is written.
    """
    import json

    payload = json.dumps({"sources": source_digests, "preset": preset, "extra": extra,
                          "pipeline": PIPELINE_VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()
