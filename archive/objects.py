"""Read-side records: a site version's files and metadata, straight from its OCFL inventory."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import FileNotInVersion

INVENTORY = "inventory.json"
SIDECAR = "inventory.json.sha512"
DECLARATION = "0=ocfl_object_1.1"


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def version_number(vdir: str) -> int:
    return int(vdir[1:])


def version_dirs(inventory: Mapping[str, Any]) -> dict[int, str]:
    """Version number -> version directory name (``v1`` or zero-padded ``v001``)."""
    return {version_number(v): v for v in inventory["versions"]}


def head_number(inventory: Mapping[str, Any]) -> int:
    return version_number(inventory["head"])


def version_state(inventory: Mapping[str, Any], vdir: str) -> dict[str, str]:
    """Logical path -> digest for one version."""
    return {logical: digest
            for digest, logicals in inventory["versions"][vdir]["state"].items()
            for logical in logicals}


def load_inventory(object_dir: Path) -> dict[str, Any]:
    with open(object_dir / INVENTORY, "rb") as fh:
        return json.load(fh)


@dataclass(frozen=True)
class VersionInfo:
    """One version of a site: what ``stadtzeit archive log`` shows."""

    number: int
    created: datetime | None
    message: str | None
    user: str | None
    address: str | None = None

    @classmethod
    def from_inventory(cls, inventory: Mapping[str, Any], vdir: str) -> VersionInfo:
        v = inventory["versions"][vdir]
        user = v.get("user") or {}
        return cls(version_number(vdir), parse_time(v.get("created")), v.get("message"),
                   user.get("name"), user.get("address"))


@dataclass(frozen=True)
class SiteVersion:
    """A stored version of a site. ``files`` point into the object itself: never write to them.

    Paths stay valid after later commits (an object only ever grows), so they may be handed to
    readers such as laspy or trimesh directly.
    """

    site: str
    number: int
    head: int
    info: VersionInfo
    files: dict[str, Path] = field(repr=False)  # logical path -> stored file, sorted
    digests: dict[str, str] = field(repr=False)  # logical path -> sha512

    @classmethod
    def from_inventory(cls, site: str, object_dir: Path, inventory: Mapping[str, Any],
                       number: int) -> SiteVersion:
        vdir = version_dirs(inventory)[number]
        state = version_state(inventory, vdir)
        manifest = inventory["manifest"]
        files = {lp: object_dir / manifest[d][0] for lp, d in sorted(state.items())}
        info = VersionInfo.from_inventory(inventory, vdir)
        return cls(site, number, head_number(inventory), info, files, dict(sorted(state.items())))

    @property
    def ref(self) -> str:
        return f"{self.site}@v{self.number}"

    @property
    def is_head(self) -> bool:
        return self.number == self.head

    @property
    def created(self) -> datetime | None:
        return self.info.created

    @property
    def message(self) -> str | None:
        return self.info.message

    @property
    def user(self) -> str | None:
        return self.info.user

    def exists(self, logical: str) -> bool:
        return logical in self.files

    def path(self, logical: str) -> Path:
        try:
            return self.files[logical]
        except KeyError:
            close = difflib.get_close_matches(logical, list(self.files), n=3)
            raise FileNotInVersion(self.ref, logical, close) from None

    def digest(self, logical: str) -> str:
        """The file's sha512 as recorded in the inventory."""
        self.path(logical)
        return self.digests[logical]

    def read_bytes(self, logical: str) -> bytes:
        return self.path(logical).read_bytes()

    def read_json(self, logical: str) -> Any:
        with open(self.path(logical), "rb") as fh:
            return json.load(fh)

    def listdir(self, prefix: str) -> list[str]:
        """Logical paths under the folder ``prefix`` (e.g. ``"epochs/2021-04-01"``)."""
        start = prefix.rstrip("/") + "/"
        return [lp for lp in self.files if lp.startswith(start)]
