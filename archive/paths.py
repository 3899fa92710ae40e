"""Site ids, logical paths and version references: what the archive accepts, and why."""

from __future__ import annotations

import re
from urllib.parse import quote

from assets_manifest.names import UnsafeNameError, check_name

from .errors import BadReference, InvalidPath

# Site ids become directory names (flat-direct layout), lock/staging names and CLI references
# (`site@v2`), so they are plain ASCII slugs: no separators, no '@', nothing hidden.
SITE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_REF = re.compile(r"(?P<site>[^@]+)@(?:v(?P<v>\d+)|(?P<n>\d+)|(?P<head>head))")
NAME_MAX = 255  # bytes per directory entry on Linux file systems


def check_site_id(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidPath("site id", value, "must be a string")
    if not SITE_ID.fullmatch(value) or ".." in value:
        raise InvalidPath(
            "site id", value,
            "use 1-100 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit "
            "(for example 'gasometer' or 'schloss-oberhausen')")
    return value


def check_logical_path(value: object) -> str:
    """Return ``value`` if it is a safe relative POSIX path inside a site object.

    Each segment must pass ``assets_manifest.names.check_name``, the rules every stored name
    follows (portable to Windows kiosks, NAS shares and S3); the structure is checked here.
    """
    what = "logical path"
    if not isinstance(value, str):
        raise InvalidPath(what, value, "must be a str such as 'epochs/2021-04-01/points.laz'")
    if not value:
        raise InvalidPath(what, value, "is empty")
    if value.startswith("/"):
        raise InvalidPath(what, value, "is absolute; give it relative to the site, without '/'")
    if "\\" in value:
        raise InvalidPath(what, value, "contains '\\'; separate folders with '/'")
    for segment in value.split("/"):
        if segment == "":
            raise InvalidPath(what, value, "has an empty segment ('//' or a trailing '/')")
        try:
            check_name(segment, "path segment")
        except UnsafeNameError as exc:
            raise InvalidPath(what, value, f"segment {segment!r} {exc.reason}") from None
        # Content paths are URI-quoted copies of logical paths (ocfl-py 'uri' normalisation).
        if len(quote(segment)) > NAME_MAX:
            raise InvalidPath(what, value, f"segment {segment[:40]!r}… is too long for a file "
                                           "name once quoted")
    return value


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"site"`` -> ``("site", None)``; ``"site@v2"`` or ``"site@2"`` -> ``("site", 2)``."""
    if not isinstance(ref, str):
        raise BadReference(f"version reference must be a string, not {type(ref).__name__}")
    if "@" not in ref:
        return check_site_id(ref), None
    m = _REF.fullmatch(ref)
    if not m:
        raise BadReference(
            f"cannot read version reference {ref!r}; write SITE, SITE@vN (e.g. gasometer@v2) "
            "or SITE@head")
    site = check_site_id(m["site"])
    if m["head"]:
        return site, None
    number = int(m["v"] or m["n"])
    if number < 1:
        raise BadReference(f"{ref!r}: versions start at v1")
    return site, number
