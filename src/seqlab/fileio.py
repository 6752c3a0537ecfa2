"""Atomic writes: a reader never sees a half-written file, a failure leaves nothing behind."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from seqlab.errors import CorruptStateError

CHUNK_BYTES = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Return the hex sha256 of a file, read in chunks so large archives stay cheap."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(destination: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; rename it into place only on success."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent
    )
    os.close(handle)
    temporary = Path(temporary_name)
    try:
        yield temporary
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(
    destination: str | Path, mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO[Any]]:
    """Open a temporary file for writing that replaces ``destination`` only when closed cleanly."""
    with atomic_path(destination) as temporary:
        kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": encoding}
        with open(temporary, mode, **kwargs) as handle:
            yield handle


def write_json(destination: str | Path, payload: Any) -> None:
    """Write ``payload`` as indented, key-sorted JSON atomically (stable bytes for DVC hashes)."""
    with atomic_open(destination) as handle:
        json.dump(payload, handle, indent=2, sort_keys=True)
        handle.write("\n")


def save_arrays(destination: str | Path, arrays: dict[str, Any]) -> None:
    """Save named arrays as one compressed .npz, atomically (numpy writes fixed zip timestamps)."""
    import numpy as np

    with atomic_path(destination) as temporary, open(temporary, "wb") as handle:
        named: dict[str, Any] = {name: np.asarray(value) for name, value in arrays.items()}
        np.savez_compressed(handle, **named)


@contextlib.contextmanager
def atomic_directory(destination: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``destination`` that replaces it on success."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent))
    try:
        yield temporary
        replace_directory(temporary, destination)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def replace_directory(source: str | Path, destination: str | Path) -> None:
    """Swap the finished folder ``source`` in at ``destination`` (two renames; the old one removed).

    A crash between the renames leaves the old folder at ``.<name>.old`` and no ``destination``:
    absent, never half.
    """
    source, destination = Path(source), Path(destination)
    if destination.exists():
        backup = destination.with_name(f".{destination.name}.old")
        shutil.rmtree(backup, ignore_errors=True)
        os.replace(destination, backup)
        os.replace(source, destination)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.replace(source, destination)


def yaml_problem(error: Exception, text: str) -> tuple[int | None, str]:
    """Return (1-based line, what is wrong) of a PyYAML error, for messages that name the line."""
    mark = getattr(error, "problem_mark", None)
    if mark is not None:
        return mark.line + 1, str(getattr(error, "problem", None) or error)
    position = getattr(error, "position", None)  # a ReaderError: a character YAML does not allow
    if isinstance(position, int):
        return text.count("\n", 0, position) + 1, str(getattr(error, "reason", None) or error)
    return None, str(error)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file with libyaml's C loader where PyYAML has it (dvc.lock: about 8x faster).

    For machine-written files read on every pipeline run (dvc.lock, read a few times per dataset);
    a file unchanged since the last read in this process is not parsed again. params.yaml keeps the
    pure-Python loader in seqlab.config, whose errors the user reads. A file that does not parse
    fails with a ``CorruptStateError`` (a ``ValueError``) naming it and the line.
    """
    import copy

    resolved = Path(path).resolve()
    stat = resolved.stat()
    return copy.deepcopy(_parsed_yaml(str(resolved), stat.st_mtime_ns, stat.st_size, stat.st_ino))


@functools.lru_cache(maxsize=8)
def _parsed_yaml(path: str, mtime_ns: int, size: int, inode: int) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    recovery = "restore it from version control, or delete it so that the tool that wrote it writes it again"
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        byte_line = data.count(b"\n", 0, error.start) + 1
        raise CorruptStateError(
            path, f"not UTF-8 text ({error.reason}); {recovery}", line=byte_line
        ) from None
    try:
        return yaml.load(text, Loader=loader)  # a safe loader either way
    except yaml.YAMLError as error:
        line, problem = yaml_problem(error, text)
        raise CorruptStateError(path, f"invalid YAML: {problem}; {recovery}", line=line) from None


def read_dvc_lock_stages(path: str | Path) -> dict[str, dict[str, Any]]:
    """Return dvc.lock's ``stages`` mapping (empty without a lock); a lock of another shape is named."""
    path = Path(path)
    if not path.exists():
        return {}
    lock = read_yaml(path) or {}
    stages = lock.get("stages") if isinstance(lock, dict) else None
    if stages is None and isinstance(lock, dict):
        return {}
    if not isinstance(stages, dict) or not all(isinstance(entry, dict) for entry in stages.values()):
        raise CorruptStateError(
            path,
            "not a dvc.lock (expected a mapping with stages: {name: entry}); delete it and run `dvc repro`",
        )
    return stages
