"""Checks of a site manifest that need the processing layer: preset overrides and the files a
source refers to.  ``stadtzeit manifest validate`` and ``ingest`` run the same checks, so a
manifest that validates does not fail at ingest for either reason."""

from __future__ import annotations

from assets_manifest import SiteManifest
from assets_manifest.models import format_field_path
from processing.companions import missing_companions
from processing.errors import ReaderError
from processing.presets import override_problems


def manifest_problems(manifest: SiteManifest, *, sources: bool = False,
                      epochs: list[str] | None = None) -> list[tuple[str, str]]:
    """``(field path, reason)`` for every bad override and (with ``sources``) every file a
    listed source refers to that is missing (an OBJ's MTL or textures, a PLY's TextureFile)."""
    raw = manifest.to_json_dict()
    problems: list[tuple[str, str]] = []
    for i, epoch in enumerate(manifest.epochs):
        if epochs is not None and epoch.id not in epochs:
            continue
        overrides = dict(epoch.overrides)
        for key, reason in override_problems(str(epoch.preset), overrides):
            loc = ("epochs", i, "overrides", key) if key else ("epochs", i, "preset")
            problems.append((format_field_path(loc, raw), reason))
        if not sources:
            continue
        for j, src in enumerate(epoch.sources):
            path = manifest.resolve_source(src)
            if not path.is_file():
                continue                    # verify_sources reports it
            try:
                missing = missing_companions(path)
            except (ReaderError, OSError) as exc:
                missing, reason = [], str(exc)
                problems.append((format_field_path(("epochs", i, "sources", j, "path"), raw),
                                 reason))
            if missing:
                problems.append((format_field_path(("epochs", i, "sources", j, "path"), raw), (
                    f"{path.name} refers to {', '.join(map(repr, missing))}, not found next "
                    "to it; copy the file(s) from the delivery into the same folder")))
    return problems
