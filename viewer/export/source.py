"""What every export starts from: one public site version, opened read-only, with its licence.

`ExportSource` reads the site object (never the `<site>--restricted` object), checks that the
site has a licence and an attribution, and gives the exporters the same scene the viewer draws:
a `ViewerModel`, meshes as `MeshData`, stored change products and saved viewpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from assets_manifest.errors import StadtzeitError
from viewer.model.scene import (
    MeshData,
    SceneDescription,
    change_from_products,
    compose,
    heat_colors_for,
    mesh_key,
    read_change_values,
    read_glb,
)
from viewer.model.state import Camera, ChangeData, CompareMode, SiteInfo, ViewerModel
from viewer.model.store import read_viewpoints, site_info

RESTRICTED_SUFFIX = "--restricted"


class ExportError(StadtzeitError):
    """An export that cannot be made as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Licence:
    """The site's licence and credit line, and what the licence forbids."""

    licence: str
    attribution: str
    no_derivatives: bool
    non_commercial: bool

    @classmethod
    def of(cls, text: str, attribution: str) -> Licence:
        t = text.upper().replace("_", "-").replace(" ", "-")
        nd = "-ND" in t or "NODERIV" in t or "NO-DERIV" in t
        nc = "-NC" in t or "NONCOMMERCIAL" in t or "NON-COMMERCIAL" in t
        return cls(text.strip(), attribution.strip(), nd, nc)

    @property
    def restricted(self) -> bool:
        return self.no_derivatives or self.non_commercial

    def warning(self, language: str = "en") -> str:
        """The prominent sentence for a licence that forbids something; "" when none."""
        if not self.restricted:
            return ""
        if language == "de":
            parts = []
            if self.non_commercial:
                parts.append("keine kommerzielle Nutzung")
            if self.no_derivatives:
                parts.append("keine Bearbeitungen (nur unverändert weitergeben)")
            return f"ACHTUNG – die Lizenz {self.licence} erlaubt: " + "; ".join(parts) + "."
        parts = []
        if self.non_commercial:
            parts.append("no commercial use")
        if self.no_derivatives:
            parts.append("no derivatives (share only unchanged)")
        return f"NOTE – the licence {self.licence} allows: " + "; ".join(parts) + "."


@dataclass(frozen=True)
class Provenance:
    """What every exported file says about where it came from."""

    site: SiteInfo
    licence: Licence
    archive_version: str          # "site@v3"
    archive_root: str
    epochs: tuple[str, ...]       # the epochs shown
    software: str

    def as_dict(self) -> dict[str, str]:
        s = self.site
        return {
            "Title": f"{s.name.get('en')} ({', '.join(self.epochs)})",
            "Site": s.id,
            "SiteName": s.name.get("en"),
            "SiteNameDE": s.name.get("de"),
            "Epochs": ", ".join(self.epochs),
            "Licence": self.licence.licence,
            "Attribution": self.licence.attribution,
            "Copyright": f"{self.licence.attribution} — {self.licence.licence}",
            "ArchiveVersion": self.archive_version,
            "CRS": s.crs,
            "Origin": " ".join(f"{c:.3f}" for c in s.origin),
            "Software": self.software,
        } | ({"LicenceWarning": self.licence.warning()} if self.licence.restricted else {})

    def for_epochs(self, *epochs: str) -> Provenance:
        return replace(self, epochs=tuple(epochs))


def software_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return f"stadtzeit {version('stadtzeit')}"
    except PackageNotFoundError:
        return "stadtzeit"


class ExportSource:
    """One site version for exporting. Opens the archive read-only; nothing here writes."""

    def __init__(self, archive_path: Path, site_ref: str, language: str = "en"):
        from archive import Archive

        site_id, _, version = site_ref.partition("@")
        if site_id.endswith(RESTRICTED_SUFFIX):
            raise ExportError(
                f"{site_id}: this is the restricted part of a site (originals and unfiltered "
                f"data), which exports never read; export the public site "
                f"'{site_id[: -len(RESTRICTED_SUFFIX)]}' instead")
        self.archive = Archive.open(archive_path)
        self.version = self.archive.read(site_id, version or None)
        self.site = site_info(self.version, site_id)
        missing = [f for f, v in (("licence", self.site.licence),
                                  ("attribution", self.site.attribution)) if not v.strip()]
        if missing:
            raise ExportError(
                f"{site_id}: site.json has no {' and no '.join(missing)}; every export must "
                f"carry both. Add them to the site manifest and ingest it again")
        if not self.site.epochs:
            raise ExportError(f"{site_id}: the site has no epochs to export")
        self.licence = Licence.of(self.site.licence, self.site.attribution)
        self.language = language
        self.model = ViewerModel(language)
        self.model.set_sites([self.site])
        self.model.open_site(self.site.id)
        self.viewpoints = read_viewpoints(self.version)
        self._meshes: dict[str, MeshData] = {}
        self.lods: dict[str, int] = {}

    # ------------------------------------------------------------------ identity
    @property
    def ref(self) -> str:
        return f"{self.site.id}@v{self.version.number}"

    def provenance(self, *epochs: str) -> Provenance:
        return Provenance(self.site, self.licence, self.ref, str(self.archive.root),
                          tuple(epochs), software_version())

    def epoch(self, epoch_id: str | None) -> str:
        """A valid epoch id (default the newest), or an error listing the epochs there are."""
        ids = self.site.epoch_ids
        if epoch_id is None:
            return ids[-1]
        if epoch_id not in ids:
            raise ExportError(f"{self.site.id}: no epoch {epoch_id!r}; the site has "
                              f"{', '.join(ids)}")
        return epoch_id

    # ------------------------------------------------------------------ geometry
    def mesh(self, epoch: str, lod: int = 0) -> MeshData:
        """A mesh product of an epoch; the coarsest stored LOD if `lod` is not stored."""
        info = self.site.epoch(self.epoch(epoch))
        if not info.lods:
            raise ExportError(f"{self.site.id}: epoch {epoch} has no mesh products")
        if lod not in info.lods:
            lod = max(info.lods)
        key = mesh_key(epoch, lod)
        if key not in self._meshes:
            # VTK's OpenGL classes must be registered before the glTF reader makes its
            # textures, else every later vtkTexture is "abstract" in this process
            import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
            self._meshes[key] = read_glb(self.version.files[info.lods[lod]],
                                         np.asarray(self.site.origin), source=key)
        self.lods[epoch] = lod
        return self._meshes[key]

    def scene(self, epoch: str, lod: int = 0, **state: Any) -> SceneDescription:
        """The primary view's layers for `epoch` (and a crossfade `fade_from`/`fade_t`)."""
        self.mesh(epoch, lod)
        m = self.model
        m.set_compare_mode(CompareMode.SINGLE)
        m.epoch = epoch
        m.fade_from, m.fade_t = state.get("fade_from"), state.get("fade_t", 1.0)
        if m.fade_from:
            self.mesh(m.fade_from, lod)
        return compose(m, self._meshes, lods=self.lods)

    def heat_scene(self, change: ChangeData, significant_only: bool = False
                   ) -> SceneDescription:
        m = self.model
        self.mesh(change.b, change.lod)
        m.set_compare_mode(CompareMode.HEATMAP)
        m.epoch_a, m.epoch = change.a, change.b
        m.change = change
        m.significant_only = significant_only
        return compose(m, self._meshes, lods={**self.lods, change.b: change.lod},
                       heat_colors=heat_colors_for(change, significant_only))

    def change(self, a: str, b: str, lod: int = 0) -> ChangeData | None:
        """The stored change product from `a` to `b` (None when none is stored)."""
        ref = self.site.change(a, b)
        if ref is None or not ref.lods:
            return None
        lod = lod if lod in ref.lods else min(ref.lods)
        mesh = self.mesh(b, lod)
        values = read_change_values(self.version.files[ref.lods[lod]], mesh.n_vertices)
        summary = self.version.read_json(ref.summary) if ref.summary else None
        return change_from_products(a, b, lod, values, summary)

    def summary(self, a: str, b: str) -> dict[str, Any] | None:
        ref = self.site.change(a, b)
        return self.version.read_json(ref.summary) if ref and ref.summary else None

    def camera(self, viewpoint: str | None = None, preset: str | None = None,
               camera: Camera | None = None, epoch: str | None = None) -> Camera:
        """The camera of an export: given, a saved viewpoint, or a named preset."""
        if camera is not None:
            return camera
        if viewpoint is not None:
            if viewpoint not in self.viewpoints:
                have = ", ".join(sorted(self.viewpoints)) or "none saved"
                raise ExportError(f"{self.site.id}: no saved viewpoint {viewpoint!r} "
                                  f"(viewpoints: {have})")
            return self.viewpoints[viewpoint]
        bounds = self.mesh(self.epoch(epoch), 2).bounds
        return preset_camera(preset or "oblique", bounds)


PRESETS = ("oblique", "north", "south", "east", "west", "top")


def preset_camera(name: str, bounds: tuple[float, ...]) -> Camera:
    """Named views of the whole site: an oblique view from the south-west (the viewer's
    default), from each side at 25° elevation, or straight down with north up."""
    fit = Camera.fit(bounds).dolly(1.25)  # the bounding sphere leaves wide margins: a bit closer
    if name == "oblique":
        return fit
    if name not in PRESETS:
        raise ExportError(f"unknown camera preset {name!r}; use one of {', '.join(PRESETS)}")
    f = np.asarray(fit.focal_point)
    if name == "top":
        return Camera(tuple(f + [0, 0, fit.distance]), tuple(f), (0.0, 1.0, 0.0),
                      fit.view_angle)
    azimuth = {"south": -90, "north": 90, "east": 0, "west": 180}[name]
    a, e = np.radians(azimuth), np.radians(25)
    d = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
    return Camera(tuple(f + d * fit.distance), tuple(f), (0.0, 0.0, 1.0), fit.view_angle)
