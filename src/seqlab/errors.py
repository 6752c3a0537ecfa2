"""Error types that carry the file, line, key or value a user needs to fix their input.

Two families, so an orchestrator can tell a transient failure from a permanent one:
:class:`DataIntegrityError` (a ``ValueError``: the data itself is wrong — checksum, format, a shrunk
or gappy file — and fetching again cannot help) and :class:`SourceUnavailableError` (no location
could deliver a file: the network or a server, worth retrying).
"""

from __future__ import annotations

from pathlib import Path


class DataIntegrityError(ValueError):
    """The data is wrong, not unreachable: retrying the same fetch gives the same answer."""


class DataFormatError(DataIntegrityError):
    """Malformed input data: the message names the file and, where known, the line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path}" if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {message}")


class GapTooLongError(DataFormatError):
    """A run of missing values inside a series is longer than the source's ``max_gap`` allows."""


class ChecksumError(DataIntegrityError):
    """A downloaded or cached file does not have the sha256 we recorded for it."""

    def __init__(self, path: str | Path, expected: str, actual: str, hint: str = "") -> None:
        self.path = Path(path)
        self.expected = expected
        self.actual = actual
        message = f"{self.path}: sha256 mismatch: expected {expected}, got {actual}"
        if hint:
            message += f". {hint}"
        super().__init__(message)


class SourceShrankError(DataIntegrityError):
    """A revised file (``fetch --update``) holds fewer records than the one the lock records."""


class SourceUnavailableError(RuntimeError):
    """No configured location (mirror or upstream) could deliver a source file: the one retryable error.

    Raised only after every location failed to be reached or read (connection refused, DNS, timeout,
    HTTP error, a download cut short, a mirror file absent); what a location did deliver is checked
    and fails with a :class:`DataIntegrityError` instead.
    """


class CorruptStateError(ValueError):
    """A file written to record or resume work (dvc.lock, a tuner's saved search) does not parse.

    The message names the file, the line where known, and how to recover.
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        where = f"{self.path}" if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {message}")
