"""How raw files are fetched (mirror first, then the official locations) and verified.

The registry (:mod:`seqlab.datasets`) says which files a dataset has; this module fetches them into
``data/raw/<dataset>/``. Every fetched file's sha256 is recorded in a lock file
(``data/sources.lock.json``) committed with the code: the first fetch of a new dataset records it,
a later fetch that finds a different file fails, and taking a revised upstream file is the explicit
``seqlab fetch DATASET --update``. Static datasets (IMDB, MNIST) also pin their known hashes in the
registry.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqlab.errors import ChecksumError, DataFormatError, SourceUnavailableError
from seqlab.fileio import CHUNK_BYTES, sha256_file, write_json

MIRROR_ENV = "SEQLAB_DATA_MIRROR"
DOWNLOAD_TIMEOUT_SECONDS = 60.0
Log = Callable[[str], None]


@dataclass(frozen=True)
class SourceFile:
    """One raw file of a dataset: its local name, official locations and names in a mirror."""

    filename: str  # the name under data/raw/<dataset>/
    urls: tuple[str, ...]  # official locations (URLs or local paths), tried in order after the mirror
    mirror_folder: str | None  # <mirror>/<mirror_folder>/<name>; None: not looked for in a mirror
    mirror_names: tuple[str, ...] = ()
    pinned_sha256: dict[str, str] = field(default_factory=dict)  # known releases of a static file
    optional: bool = False  # used when present (MNIST's training files); its absence is not an error


def read_lock(lock_path: str | Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Read the sha256 lock as ``{dataset: {file: {sha256, size}}}``; missing file = empty lock."""
    lock_path = Path(lock_path)
    if not lock_path.exists():
        return {}
    try:
        payload = json.loads(lock_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DataFormatError(lock_path, f"not valid JSON: {error.msg}", line=error.lineno) from error
    valid = isinstance(payload, dict) and all(
        isinstance(files, dict)
        and all(isinstance(entry, dict) and "sha256" in entry for entry in files.values())
        for files in payload.values()
    )
    if not valid:
        raise DataFormatError(lock_path, "expected an object of {dataset: {file: {sha256, size}}}")
    return payload


def _locations(source: SourceFile, mirror: str | None, dataset: str) -> list[str]:
    """Where to look, in order: the mirror under each known name, then the official locations."""
    locations: list[str] = []
    if mirror and source.mirror_folder:
        for name in (source.filename, *source.mirror_names):
            if "://" in mirror:
                location = mirror.rstrip("/") + f"/{source.mirror_folder}/{urllib.parse.quote(name)}"
            else:
                location = str(Path(mirror).expanduser() / source.mirror_folder / name)
            if location not in locations:
                locations.append(location)
    return locations + list(source.urls)


def _copy_to(location: str, destination: Path) -> None:
    """Copy a local file or download a URL into ``destination`` (a temporary path)."""
    if "://" not in location:
        if not Path(location).is_file():
            raise FileNotFoundError(location)
        shutil.copyfile(location, destination)
        return
    request = urllib.request.Request(location, headers={"User-Agent": "seqlab (+data fetch)"})
    with (
        urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response,
        open(destination, "wb") as handle,
    ):
        shutil.copyfileobj(response, handle, CHUNK_BYTES)
        # http.client ends a body cut short by a dropped connection silently; a partial file must
        # never be hashed, accepted (with --update) or recorded, so treat it as a failed location.
        announced = response.headers.get("Content-Length")
        if announced is not None and announced.isdigit() and handle.tell() != int(announced):
            raise OSError(f"incomplete download: got {handle.tell()} of {announced} bytes")


def _fetch_one(
    dataset: str,
    source: SourceFile,
    staged: Path,
    expected: str | None,
    mirror: str | None,
    update: bool,
    lock_path: Path,
    log: Log,
) -> str | None:
    """Fetch one file into ``staged`` and verify it; return its sha256, or None if optional and nowhere."""
    failures: list[str] = []
    for location in _locations(source, mirror, dataset):
        try:
            _copy_to(location, staged)
        except FileNotFoundError:
            failures.append(f"{location}: not found")
            continue
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            failures.append(f"{location}: {getattr(error, 'reason', error)}")
            continue
        log(f"{dataset}: fetched {location}")
        break
    else:
        if source.optional and not expected:
            log(f"{dataset}: optional {source.filename} not available; going on without it")
            return None
        raise SourceUnavailableError(
            f"{dataset}: could not fetch {source.filename} from any location "
            f"(set {MIRROR_ENV} to a folder or URL holding <folder>/<file>):\n  " + "\n  ".join(failures)
        )
    actual = sha256_file(staged)
    if source.pinned_sha256 and actual not in source.pinned_sha256:
        raise ChecksumError(
            f"{location} (for {source.filename})",
            expected=" or ".join(source.pinned_sha256),
            actual=actual,
            hint=f"{source.filename} is a static file; this is not one of its known releases",
        )
    if not update and expected and actual != expected and actual not in source.pinned_sha256:
        raise ChecksumError(
            f"{location} (for {source.filename})",
            expected=expected,
            actual=actual,
            hint=(
                f"upstream may have revised it; to take the new version run "
                f"`seqlab fetch {dataset} --update`, which records the new hash in {lock_path}"
            ),
        )
    return actual


def fetch_files(
    dataset: str,
    sources: Sequence[SourceFile],
    raw_dir: str | Path,
    lock_path: str | Path,
    mirror: str | None = None,
    update: bool = False,
    log: Log = print,
) -> list[Path]:
    """Fetch a dataset's raw files into ``raw_dir`` and verify each against the lock.

    Tries the mirror (argument, else ``$SEQLAB_DATA_MIRROR``) first, then the official locations.
    All files are fetched and verified in a staging folder first and moved into place together, so a
    failure leaves the folder and the lock as they were. An optional file the lock does not record is
    not looked for again unless ``update``: what the lock records is the snapshot.
    """
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    lock_path, raw_dir = Path(lock_path), Path(raw_dir)
    locked = read_lock(lock_path).get(dataset, {})
    recorded: dict[str, dict[str, Any]] = {}
    present: list[Path] = []
    raw_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{raw_dir.name}.fetch-", dir=raw_dir.parent))
    try:
        staged: dict[str, Path] = {}
        dropped: list[Path] = []
        for source in sources:
            expected = str(locked[source.filename]["sha256"]) if source.filename in locked else None
            destination = raw_dir / source.filename
            if source.optional and locked and expected is None and not update:
                dropped.append(destination)  # the snapshot does not include it
                continue
            if not update and expected and destination.exists() and sha256_file(destination) == expected:
                log(f"{dataset}: {destination} already present and verified (sha256 {expected[:12]}…)")
                actual: str | None = expected
            else:
                actual = _fetch_one(
                    dataset, source, staging / source.filename, expected, mirror, update, lock_path, log
                )
                if actual is None:
                    dropped.append(destination)
                    continue
                staged[source.filename] = staging / source.filename
                if expected and expected != actual:
                    log(f"{dataset}: {source.filename}: lock updated {expected[:12]}… → {actual[:12]}…")
            recorded[source.filename] = {"sha256": actual, "size": None}
            present.append(destination)
        if staged:
            raw_dir.mkdir(parents=True, exist_ok=True)
        for name, path in staged.items():
            os.replace(path, raw_dir / name)
        for path in dropped:
            path.unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for destination in present:
        recorded[destination.name]["size"] = destination.stat().st_size
        log(f"{dataset}: {destination} verified (sha256 {str(recorded[destination.name]['sha256'])[:12]}…)")
    if recorded != locked:
        lock = read_lock(lock_path)  # as it is now: another dataset's fetch may have written it
        lock[dataset] = recorded
        write_json(lock_path, lock)
    return present
