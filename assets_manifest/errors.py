"""The error types every layer raises; only the CLI and the GUI turn them into exit codes/dialogs."""

from __future__ import annotations


class StadtzeitError(Exception):
    """Base of every error a user can act on: the message says what, where, and what to do."""

    exit_code = 1


class ManifestError(StadtzeitError):
    """A site manifest is unreadable or invalid.

    ``problems`` holds one ``(field_path, reason)`` pair per problem found.
    """

    def __init__(self, path: object, problems: list[tuple[str, str]]):
        self.path = str(path)
        self.problems = problems
        lines = [f"{self.path}: {field}: {reason}" if field else f"{self.path}: {reason}"
                 for field, reason in problems]
        super().__init__("invalid site manifest\n" + "\n".join("  " + line for line in lines))
