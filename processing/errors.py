"""Errors raised by the processing pipeline (all are StadtzeitError: the CLI prints them)."""

from __future__ import annotations

from assets_manifest.errors import StadtzeitError


class ProcessingError(StadtzeitError):
    """A pipeline stage cannot go on; the message says which input and what to do."""


class ReaderError(ProcessingError):
    """A source file cannot be read or is not supported."""

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class RegistrationError(ProcessingError):
    """Registration residuals exceed the preset's limit (use --force to accept them)."""
