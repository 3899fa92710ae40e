"""The error types every layer raises.

Only the CLI and the GUI turn them into exit codes and dialogs.
"""

from __future__ import annotations


class StadtzeitError(Exception):
    """Base of every error a user can act on: the message says what, where, and what to do."""

    exit_code = 1


class ManifestError(StadtzeitError):
    """A site manifest is unreadable or invalid, or its source files do not match it.

    ``problems`` holds one ``(field_path, reason)`` pair per problem found; ``field_path`` is
    like ``epochs[1] (2024-05-02).sources[0].sha256`` or ``""`` for the file as a whole.
    """

    def __init__(self, path: object, problems: list[tuple[str, str]],
                 summary: str = "invalid site manifest"):
        self.path = str(path)
        self.problems = problems
        lines = [f"{self.path}: {field}: {reason}" if field else f"{self.path}: {reason}"
                 for field, reason in problems]
        super().__init__(summary + "\n" + "\n".join("  " + line for line in lines))


class UnsafeNameError(StadtzeitError, ValueError):
    """A site id, epoch id or file name cannot be used as a name in the archive.

    Also a ``ValueError``, so pydantic validators report it as a field problem.
    """

    def __init__(self, value: object, what: str, reason: str):
        self.value = value
        self.what = what
        self.reason = reason
        super().__init__(f"unsafe {what} {value!r}: {reason}; rename it (letters, digits, "
                         "'-', '_' and '.' inside the name are always safe)")


class UnknownEpochError(StadtzeitError, LookupError):
    """A site has no epoch with the requested id."""

    def __init__(self, site: str, epoch: str, known: list[str]):
        self.site = site
        self.epoch = epoch
        super().__init__(f"site {site!r} has no epoch {epoch!r}; its epochs are: "
                         f"{', '.join(known) or '(none)'}")
