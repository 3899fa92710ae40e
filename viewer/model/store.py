"""Reading what the viewer shows from the archive (no Qt): site records, epochs, products.

The viewer opens the archive read-only; the one write is a saved viewpoint, made through the
archive's writer as a new version (DESIGN.md: only explicit user actions write).
"""

from __future__ import annotations

import getpass
import json
import re
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from archive import Archive
from assets_manifest.models import SiteManifest
from processing.compare_params import made_by_current_algorithm
from viewer.model.scene import ProductError, glb_face_count
from viewer.model.state import AnnotationInfo, Camera, ChangeRef, EpochInfo, SiteInfo, Text

VIEWPOINTS = "viewer/viewpoints.json"
_LOD_RE = re.compile(r"^epochs/([^/]+)/mesh/lod(\d+)\.glb$")
_CHANGE_RE = re.compile(r"^changes/([^/]+?)__([^/]+)/([^/]+)/(lod(\d+)\.npz|summary\.json)$")


class SiteVersionLike(Protocol):
    """What the viewer uses of `archive.SiteVersion`."""

    number: int
    files: dict[str, Path]

    def read_json(self, logical: str) -> Any: ...


def _version_of(path: Path) -> int:
    """The object version that stored a content file (`…/v3/content/…` -> 3), 0 if unknown."""
    parts = Path(path).parts
    for i in range(len(parts) - 1, 0, -1):
        if parts[i] == "content" and re.fullmatch(r"v\d+", parts[i - 1]):
            return int(parts[i - 1][1:])
    return 0


def _current(version: SiteVersionLike, summary: str | None) -> bool:
    """Whether the product's summary says today's algorithm made it (see
    `made_by_current_algorithm`)."""
    if summary is None:
        return True
    try:
        doc = version.read_json(summary)
    except (OSError, ValueError):
        return True  # unreadable: the loader reports it when the product is opened
    return not isinstance(doc, dict) or made_by_current_algorithm(doc)


def _epoch_date(epoch_id: str) -> date | None:
    try:
        return date.fromisoformat(epoch_id[:10])
    except ValueError:
        return None


def provenance_summary(doc: dict[str, Any]) -> dict[str, str]:
    """A few lines a visitor can read from `epoch.json` (processing/provenance.py's record)."""
    out: dict[str, str] = {}
    inputs = doc.get("inputs") or []
    if inputs:
        names = [Path(str(i.get("path") or i.get("name") or "")).name for i in inputs
                 if isinstance(i, dict)]
        out["sources"] = ", ".join(n for n in names if n) or str(len(inputs))
    preset = doc.get("preset") or {}
    if isinstance(preset, dict) and preset.get("name"):
        out["preset"] = str(preset["name"])
    stats = doc.get("statistics") or {}
    if isinstance(stats, dict):
        for key in ("points", "n_points", "points_out", "points_in"):
            if isinstance(stats.get(key), int):
                out["points"] = f"{stats[key]:,}".replace(",", "\u202f")
                break
    software = doc.get("software") or {}
    if isinstance(software, dict) and software:
        out["software"] = ", ".join(f"{k} {v}" for k, v in software.items()
                                    if k in ("stadtzeit", "pipeline", "open3d"))
    events = [e for e in doc.get("events") or [] if isinstance(e, dict)]
    if events:
        failed = sum(1 for e in events if str(e.get("outcome", "")).lower()
                     not in ("success", "ok", "pass", "passed"))
        out["events"] = f"{len(events)} ({failed} not successful)" if failed else str(len(events))
    if doc.get("created"):
        out["processed"] = str(doc["created"])
    return out


def site_info(version: SiteVersionLike, site_id: str | None = None) -> SiteInfo:
    """Build the model's `SiteInfo` from one version of a site object."""
    files = version.files
    if "site.json" not in files:
        raise ProductError(f"{site_id or '?'}: site.json", "missing from the site object")
    try:
        raw = version.read_json("site.json")
    except (OSError, ValueError) as exc:
        raise ProductError(f"{site_id or '?'}: site.json", f"unreadable: {exc}") from exc
    # validated like at ingest; ManifestError names every bad field
    doc = SiteManifest.from_json_dict(raw, name=f"{site_id or '?'}: site.json").to_json_dict()
    sid = str(doc.get("id") or site_id or "")

    lods: dict[str, dict[int, str]] = {}
    for logical in files:
        m = _LOD_RE.match(logical)
        if m:
            lods.setdefault(m.group(1), {})[int(m.group(2))] = logical
    changes: dict[tuple[str, str, str], dict[str, Any]] = {}
    for logical in files:
        m = _CHANGE_RE.match(logical)
        if m:
            entry = changes.setdefault((m.group(1), m.group(2), m.group(3)),
                                       {"lods": {}, "added": 0})
            if m.group(5) is not None:
                entry["lods"][int(m.group(5))] = logical
            else:
                entry["summary"] = logical
            entry["added"] = max(entry["added"], _version_of(files[logical]))
    for entry in changes.values():
        entry["current"] = _current(version, entry.get("summary"))

    manifest_epochs = {str(e.get("id")): e for e in doc.get("epochs") or []
                       if isinstance(e, dict)}
    epochs = []
    for eid in sorted(set(manifest_epochs) | set(lods), key=lambda e: (_epoch_date(e) or
                                                                          date.max, e)):
        e = manifest_epochs.get(eid, {})
        prov_path = f"epochs/{eid}/epoch.json"
        prov: dict[str, str] = {}
        registration: dict[str, Any] = {}
        if prov_path in files:
            try:
                doc_e = version.read_json(prov_path)
                prov = provenance_summary(doc_e)
                reg = doc_e.get("registration")
                registration = reg if isinstance(reg, dict) else {}
            except (OSError, ValueError, AttributeError):
                prov = {"provenance": "epoch.json is unreadable"}
        counts = {}
        for k, logical in lods.get(eid, {}).items():
            try:
                counts[k] = glb_face_count(files[logical])
            except ProductError:
                counts[k] = -1  # damaged: the loader reports it when the user opens it
        epochs.append(EpochInfo(
            id=eid, date=_epoch_date(eid), capture=str(e.get("capture") or ""),
            sensor=str(e.get("sensor") or ""), operator=str(e.get("operator") or ""),
            lods=dict(sorted(lods.get(eid, {}).items())), face_counts=counts,
            provenance=prov, provenance_path=prov_path if prov_path in files else None,
            registration=registration))

    annotations = []
    for a in doc.get("annotations") or []:
        try:
            annotations.append(AnnotationInfo(
                id=str(a["id"]), position=tuple(float(c) for c in a["position"]),
                title=Text.from_json(a.get("title")), text=Text.from_json(a.get("text")),
                epochs=tuple(str(e) for e in a.get("epochs") or ())))
        except (KeyError, TypeError, ValueError):
            continue  # a malformed annotation must not hide the site
    origin = doc.get("origin") or (0.0, 0.0, 0.0)
    return SiteInfo(
        id=sid, name=Text.from_json(doc.get("name") or sid),
        description=Text.from_json(doc.get("description")),
        crs=str(doc.get("crs") or ""), origin=tuple(float(c) for c in origin),
        licence=str(doc.get("licence") or doc.get("license") or ""),
        attribution=str(doc.get("attribution") or ""),
        epochs=tuple(epochs), annotations=tuple(annotations),
        # newest first: a pair compared again shows its latest product
        changes=tuple(ChangeRef(a, b, key, dict(sorted(v["lods"].items())), v.get("summary"),
                                current=v["current"])
                      for (a, b, key), v in sorted(changes.items(),
                                                   key=lambda kv: (-kv[1]["added"], kv[0]))),
        version=getattr(version, "number", None))


def read_viewpoints(version: SiteVersionLike) -> dict[str, Camera]:
    if VIEWPOINTS not in version.files:
        return {}
    try:
        doc = version.read_json(VIEWPOINTS)
        return {str(v["name"]): Camera.from_json(v) for v in doc.get("viewpoints", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def viewpoints_json(viewpoints: dict[str, Camera]) -> dict[str, Any]:
    return {"format": "stadtzeit-viewpoints/1",
            "viewpoints": [{"name": name, **cam.to_json()} for name, cam in viewpoints.items()]}


class ArchiveStore:
    """The archive as the viewer sees it: list, read, and the one write (viewpoints)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.archive = Archive.open(self.path)

    def site_ids(self) -> list[str]:
        # straight from the storage root: listing through the catalog would write to it
        return self.archive.site_ids()

    def read(self, site_id: str, version: int | None = None) -> SiteVersionLike:
        return self.archive.read(site_id, version)

    def site(self, site_id: str) -> tuple[SiteInfo, SiteVersionLike]:
        v = self.read(site_id)
        return site_info(v, site_id), v

    def save_viewpoints(self, site_id: str, viewpoints: dict[str, Camera],
                        message: str) -> int | None:
        """Write `viewer/viewpoints.json` as a new version; the new version number."""
        with self.archive.writer(site_id, message=message, user=_user()) as w:
            w.add_bytes(VIEWPOINTS, json.dumps(viewpoints_json(viewpoints), indent=2,
                                               ensure_ascii=False).encode())
        return w.version


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "viewer"
