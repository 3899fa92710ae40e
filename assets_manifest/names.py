"""Safe names: site ids, epoch ids and source file names become paths inside the archive.

A name that is a path component on one system must be one on every system the archive may be
copied to (Linux servers, Windows kiosks, NAS shares, S3), so the rules are the strictest of
them: no separators, no relative components, no control characters, valid UTF-8, at most 255
bytes, nothing Windows refuses or silently changes.
"""

from __future__ import annotations

import unicodedata

from assets_manifest.errors import UnsafeNameError

__all__ = ["MAX_NAME_BYTES", "UnsafeNameError", "check_name"]

MAX_NAME_BYTES = 255  # the file name limit of ext4, NTFS (in UTF-16 units, smaller), APFS

_WINDOWS_FORBIDDEN = frozenset('<>:"|?*')
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)])


def check_name(value: str | bytes, what: str = "name") -> str:
    """Return ``value`` as text if it is safe as one path component, else raise.

    ``what`` names the role in the message (``"site id"``, ``"source file name"``, ...).
    Raises :class:`UnsafeNameError` (a ``StadtzeitError`` and a ``ValueError``).
    """
    if isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnsafeNameError(value, what, f"is not valid UTF-8 (byte "
                                  f"{value[exc.start]:#04x} at offset {exc.start})") from None
    elif isinstance(value, str):
        text = value
    else:
        raise UnsafeNameError(value, what, f"must be text, not {type(value).__name__}")

    try:
        # os.fsdecode() turns undecodable bytes into lone surrogates; they are not UTF-8.
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise UnsafeNameError(value, what, "is not valid UTF-8 (it holds an undecodable "
                              "byte)") from None
    if not text:
        raise UnsafeNameError(value, what, "is empty")
    if text in (".", ".."):
        raise UnsafeNameError(value, what, "is a relative path component")
    if "/" in text or "\\" in text:
        raise UnsafeNameError(value, what, "contains a path separator ('/' or '\\'); a "
                              "name is a single path component")
    for char in text:
        # Category Cc covers C0 (incl. NUL, TAB, newline), DEL and C1.
        if unicodedata.category(char) == "Cc":
            raise UnsafeNameError(value, what, f"contains the control character "
                                  f"U+{ord(char):04X}")
    if text != text.strip():
        raise UnsafeNameError(value, what, "starts or ends with whitespace")
    if size > MAX_NAME_BYTES:
        raise UnsafeNameError(value, what, f"is {size} bytes long in UTF-8; at most "
                              f"{MAX_NAME_BYTES} are allowed")
    for char in text:
        if char in _WINDOWS_FORBIDDEN:
            raise UnsafeNameError(value, what, f"contains {char!r}, which Windows does not "
                                  "allow in file names")
    if text.endswith("."):
        raise UnsafeNameError(value, what, "ends with '.', which Windows drops silently")
    if text.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
        raise UnsafeNameError(value, what, "is a reserved device name on Windows")
    return text
