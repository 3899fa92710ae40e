"""Errors of the archive layer: each message says what went wrong, where, and what to do."""

from __future__ import annotations

from collections.abc import Iterable

from assets_manifest.errors import StadtzeitError


def _listing(items: Iterable[str], none: str) -> str:
    items = list(items)
    if not items:
        return none
    shown = ", ".join(items[:20])
    return shown + (f" … ({len(items) - 20} more)" if len(items) > 20 else "")


class ArchiveError(StadtzeitError):
    """Base of the archive's errors."""


class NotAnArchive(ArchiveError):
    """The folder holds no stadtzeit archive (no OCFL storage root in ``ocfl/``)."""

    def __init__(self, path: object, reason: str = ""):
        self.path = str(path)
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"{self.path} is not a stadtzeit archive{why}; create one with "
            f"`stadtzeit archive init --archive {self.path}` or pass --archive with the folder "
            "of an existing archive")


class ArchiveExists(ArchiveError):
    """``Archive.init`` was pointed at a folder that is an archive already or is not empty."""


class InvalidPath(ArchiveError, ValueError):
    """A site id or logical path is unsafe or malformed."""

    def __init__(self, what: str, value: object, reason: str):
        self.what = what
        self.value = value
        self.reason = reason
        super().__init__(f"invalid {what} {value!r}: {reason}")


class BadReference(ArchiveError):
    """A version reference such as ``site@v2`` cannot be parsed."""


class SiteNotFound(ArchiveError):
    def __init__(self, site: str, existing: Iterable[str]):
        self.site = site
        super().__init__(
            f"site {site!r} is not in the archive; sites: "
            f"{_listing(sorted(existing), 'none yet (ingest one first)')}")


class VersionNotFound(ArchiveError):
    def __init__(self, site: str, version: int, head: int):
        self.site = site
        self.version = version
        super().__init__(
            f"site {site!r} has no version v{version}; it has v1 … v{head} "
            f"(use {site}@v1 … {site}@v{head}, or just {site} for the newest)")


class FileNotInVersion(ArchiveError):
    def __init__(self, ref: str, logical: str, close: Iterable[str] = ()):
        self.ref = ref
        self.logical = logical
        close = list(close)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        super().__init__(f"{ref} has no file {logical!r}{hint} "
                         f"(`stadtzeit archive show {ref}` lists its files)")


class SourceNotFound(ArchiveError):
    def __init__(self, path: object, reason: str):
        self.path = str(path)
        super().__init__(f"cannot add {self.path}: {reason}; check the path and try again")


class ArchiveLocked(ArchiveError):
    def __init__(self, site: str, pid: int | None, timeout: float):
        self.site = site
        self.pid = pid
        who = f"pid {pid}" if pid else "pid unknown"
        super().__init__(
            f"site {site!r} is being written by another process ({who}); waited {timeout:g} s — "
            "wait for it to finish or retry")


class ArchiveReadOnly(ArchiveError):
    def __init__(self, path: object, reason: str):
        self.path = str(path)
        super().__init__(
            f"cannot write to the archive: {self.path} is not writable ({reason}); the archive "
            "is unchanged — run as a user who may write there, or copy the archive elsewhere")


class ArchiveWriteError(ArchiveError):
    """Writing a new version failed part-way (disk full, I/O error); nothing was committed."""


class CorruptObject(ArchiveError):
    """A site's OCFL object cannot be read or extended."""

    def __init__(self, site: str, reason: str):
        self.site = site
        super().__init__(
            f"site {site!r}: the stored object is damaged ({reason}); run "
            f"`stadtzeit archive verify {site}` and restore the named files from a backup")
