"""The JSON Schema of the site manifest, generated from the pydantic models.

Editors use it to check manifests while they are typed (Taplo / "Even Better TOML" reads a
``#:schema`` comment at the top of a TOML file). The copy shipped in
``assets_manifest/schema/site-manifest.schema.json`` must stay equal to
:func:`manifest_json_schema`; regenerate it with ``python -m assets_manifest.schema`` or
``stadtzeit manifest schema -o assets_manifest/schema/site-manifest.schema.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from assets_manifest.models import SiteManifest

__all__ = ["SCHEMA_PATH", "json_schema_document", "json_text", "manifest_json_schema",
           "schema_text", "write_schema"]

SCHEMA_PATH = Path(__file__).with_name("schema") / "site-manifest.schema.json"

_DESCRIPTION = (
    "One site of a stadtzeit archive: names and descriptions in German and English, the WGS84 "
    "location, the projected CRS and float64 origin of the site frame, licence and "
    "attribution, and its epochs (captures by airborne, terrestrial or mobile LiDAR or "
    "photogrammetry) with their source files. Written by archivists as TOML; stored in the "
    "archive as site.json. See docs/MANIFEST.md.")


def json_schema_document(model: Any, title: str, description: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a pydantic model, titled and described: the form
    every schema stadtzeit ships takes (manifests, stories, kiosk configurations)."""
    schema = model.model_json_schema(mode="validation")
    schema["title"] = title
    schema["description"] = description
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def json_text(document: Any) -> str:
    """A JSON document as the text of a shipped file (stable, UTF-8, newline at the end)."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def manifest_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a site manifest."""
    return json_schema_document(SiteManifest, "stadtzeit site manifest", _DESCRIPTION)


def schema_text() -> str:
    """The schema as the text of the shipped file."""
    return json_text(manifest_json_schema())


def write_schema(path: str | Path = SCHEMA_PATH) -> Path:
    """Write the schema to ``path`` (default: the copy shipped with the package)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(schema_text(), encoding="utf-8")
    return target


if __name__ == "__main__":
    print(write_schema(sys.argv[1] if len(sys.argv) > 1 else SCHEMA_PATH))
