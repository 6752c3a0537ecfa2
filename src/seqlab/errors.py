"""Error types that carry the file, line, key or value a user needs to fix their input."""

from __future__ import annotations

from pathlib import Path


class DataFormatError(ValueError):
    """Malformed input data: the message names the file and, where known, the line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        where = f"{self.path}" if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {message}")


class ChecksumError(ValueError):
    """A downloaded or cached file does not have the sha256 we recorded for it."""

    def __init__(self, path: str | Path, expected: str, actual: str, hint: str = "") -> None:
        self.path = Path(path)
        self.expected = expected
        self.actual = actual
        message = f"{self.path}: sha256 mismatch: expected {expected}, got {actual}"
        if hint:
            message += f". {hint}"
        super().__init__(message)


class SourceUnavailableError(RuntimeError):
    """No configured location (mirror or upstream) could deliver a source file."""
