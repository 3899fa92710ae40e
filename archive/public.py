"""What may leave the archive: public site objects only.

Privacy-restricted material (originals and unfiltered intermediates) lives in a separate OCFL
object per site whose id is ``<site>--restricted``. Sharing (``archive export``) and publishing
(``publish``) work on the public object alone and refuse a restricted id outright, so no option
or typo can send restricted material out.
"""

from __future__ import annotations

from .errors import ArchiveError
from .paths import check_site_id

RESTRICTED_SUFFIX = "--restricted"


class RestrictedSite(ArchiveError):
    """A restricted object was asked to leave the archive."""

    def __init__(self, site: str, action: str):
        self.site = site
        public = site[: -len(RESTRICTED_SUFFIX)]
        super().__init__(
            f"{site!r} is the privacy-restricted part of site {public!r} and is never {action}; "
            f"use the public site {public!r} instead (it holds no restricted material)")


def is_restricted(site: str) -> bool:
    return site.endswith(RESTRICTED_SUFFIX)


def require_public(site: str, action: str) -> str:
    """``site`` if it is a valid, public site id; ``action`` completes "is never ..."."""
    site = check_site_id(site)
    if is_restricted(site):
        raise RestrictedSite(site, action)
    return site
