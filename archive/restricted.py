"""The restricted part of the archive: one OCFL object per site beside the public one.

``<site>--restricted`` holds what is preserved but never shown — the original files bit-exact
and the privacy step's record of what it removed (where the faces were, which points went) —
while ``<site>`` holds the public products only.  Public programs (kiosk, VR, exports, publish)
cannot open it through the API: ``Archive.read`` refuses a restricted id unless the archive was
opened with ``include_restricted=True`` (the CLI's ``--restricted``), and the operating system
keeps them out as well: every restricted object is closed to "others" (folders 0750, files
0440) and belongs to the archive's restricted group (``<archive>/restricted-group``, set with
``stadtzeit archive restricted-group GROUP``), so only its owner and that group can read it.
"""

from __future__ import annotations

import errno
import grp
import logging
import os
from pathlib import Path

from .errors import ArchiveError
from .paths import check_site_id

log = logging.getLogger(__name__)

SUFFIX = "--restricted"
GROUP_FILE = "restricted-group"
DIR_MODE = 0o750
FILE_MODE = 0o440
STAGING_MODE = 0o700


class RestrictedMaterial(ArchiveError):
    """A public reader asked for the restricted object."""

    exit_code = 3

    def __init__(self, site: str):
        self.site = site
        super().__init__(
            f"{site} is restricted: it holds the original scans and unblurred textures kept for "
            "preservation, which public programs (kiosk, VR, exports, publish) never read. Use "
            f"the public site {public_id(site)!r}. An archivist who may read it opens the archive "
            "with --restricted (Archive.open(path, include_restricted=True)).")


class RestrictedSite(RestrictedMaterial):
    """A restricted object was asked to leave the archive (a bag, a publication)."""

    def __init__(self, site: str, action: str):
        self.site = site
        public = public_id(site)
        ArchiveError.__init__(
            self, f"{site!r} is the privacy-restricted part of site {public!r} and is never "
            f"{action}; use the public site {public!r} instead (it holds no restricted material)")


def require_public(site: str, action: str) -> str:
    """``site`` if it is a valid, public site id; ``action`` completes "is never ..." (sharing
    and publishing refuse a restricted id outright, so no option or typo sends it out)."""
    site = check_site_id(site)
    if is_restricted(site):
        raise RestrictedSite(site, action)
    return site


class RestrictedAccessDenied(ArchiveError):
    """The archive was opened with the archivist option, but the OS refuses this user."""

    exit_code = 3

    def __init__(self, site: str, path: object, group: str | None):
        self.site = site
        who = f"the group {group!r}" if group else "the archive's restricted group"
        super().__init__(
            f"{site}: permission denied reading {path}: this user may not read the restricted "
            f"material; ask the archive's administrator to add you to {who} "
            "(nothing was read or changed)")


def restricted_id(site: str) -> str:
    """The restricted object's id of a public site id."""
    if is_restricted(site):
        return site
    return f"{site}{SUFFIX}"


def is_restricted(site_id: str) -> bool:
    return isinstance(site_id, str) and site_id.endswith(SUFFIX)


def public_id(site_id: str) -> str:
    return site_id[:-len(SUFFIX)] if is_restricted(site_id) else site_id


def is_permission_error(exc: OSError) -> bool:
    return exc.errno in (errno.EACCES, errno.EPERM)


def read_group(archive_root: Path) -> str | None:
    try:
        name = (archive_root / GROUP_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name or None


def group_id(name: str | None) -> int:
    """The gid of ``name``; -1 (leave the group as it is) when no group is set."""
    if not name:
        return -1
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise ArchiveError(f"the restricted group {name!r} does not exist on this system; create "
                           f"it (groupadd {name}) or set another with "
                           "`stadtzeit archive restricted-group GROUP`") from None


def close_tree(root: Path, gid: int) -> None:
    """Give ``root`` and everything under it the restricted group, and take every permission
    from others (owner and group keep theirs, so the owner can still write the root
    inventory that the next version rewrites)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if gid >= 0:
                os.chown(path, -1, gid, follow_symlinks=False)
            os.chmod(path, os.lstat(path).st_mode & 0o750)
        if gid >= 0:
            os.chown(dirpath, -1, gid)
        os.chmod(dirpath, DIR_MODE)


def set_group(archive, name: str) -> list[str]:
    """Record ``name`` as the archive's restricted group and apply it to every restricted
    object; returns the ids changed."""
    gid = group_id(name)
    (archive.root / GROUP_FILE).write_text(name + "\n", encoding="utf-8")
    done = []
    for site in archive.restricted_ids():
        close_tree(archive.object_path(site), gid)
        done.append(site)
    return done


__all__ = ["RestrictedAccessDenied", "RestrictedMaterial", "SUFFIX", "close_tree",
           "is_restricted", "public_id", "read_group", "restricted_id", "set_group"]
