"""The vocabulary of stadtzeit: site and epoch manifests, their schema and validation.

Only light dependencies here (pydantic, tomllib): every other layer imports this package.
"""

from __future__ import annotations

from pathlib import Path

from assets_manifest.errors import (
    ManifestError,
    StadtzeitError,
    UnknownEpochError,
    UnsafeNameError,
)
from assets_manifest.io import VerifiedSource, load_manifest, parse_manifest, verify_sources
from assets_manifest.models import (
    DEFAULT_CRS,
    DEFAULT_PRESET,
    Annotation,
    Capture,
    Epoch,
    LocalizedText,
    Location,
    Preset,
    SiteManifest,
    Source,
)
from assets_manifest.names import check_name

__all__ = [
    "DEFAULT_CRS", "DEFAULT_PRESET", "SITES_DIR", "Annotation", "Capture", "Epoch",
    "LocalizedText", "Location", "ManifestError", "Preset", "SiteManifest", "Source",
    "StadtzeitError", "UnknownEpochError", "UnsafeNameError", "VerifiedSource", "check_name",
    "load_manifest", "parse_manifest", "shipped_manifests", "verify_sources",
]

SITES_DIR = Path(__file__).with_name("sites")
"""Example manifests of Oberhausen sites shipped with stadtzeit."""


def shipped_manifests() -> list[Path]:
    """Paths of the example site manifests, sorted by file name."""
    return sorted(SITES_DIR.glob("*.toml"))
