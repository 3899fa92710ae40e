"""The stadtzeit archive: one OCFL 1.1 object per site, atomic versioned writes, a catalog.

    from archive import Archive
    archive = Archive.open(path)
    with archive.writer("gasometer", message="ingest 2021-04-01", user="Alice") as w:
        w.add_file("epochs/2021-04-01/source/scan.laz", "/data/scan.laz")
    head = archive.read("gasometer")          # or archive.read("gasometer@v2")

See docs/ARCHIVE.md for the folder layout, the commit protocol and the catalog.
"""

from .catalog import EpochRecord, ProductRecord, SiteRecord
from .errors import (
    ArchiveError,
    ArchiveExists,
    ArchiveLocked,
    ArchiveReadOnly,
    ArchiveWriteError,
    BadReference,
    CorruptObject,
    FileNotInVersion,
    InvalidPath,
    NotAnArchive,
    SiteNotFound,
    SourceNotFound,
    VersionNotFound,
)
from .objects import SiteVersion, VersionInfo
from .paths import check_logical_path, check_site_id, parse_ref
from .store import Archive
from .verify import Problem, VerifyReport
from .writer import Writer

__all__ = [
    "Archive", "Writer", "SiteVersion", "VersionInfo", "SiteRecord", "EpochRecord",
    "ProductRecord", "VerifyReport", "Problem", "parse_ref", "check_site_id",
    "check_logical_path", "ArchiveError", "ArchiveExists", "ArchiveLocked", "ArchiveReadOnly",
    "ArchiveWriteError", "BadReference", "CorruptObject", "FileNotInVersion", "InvalidPath",
    "NotAnArchive", "SiteNotFound", "SourceNotFound", "VersionNotFound",
]
