"""How raw files are fetched (mirror first, then the official locations) and verified.

The registry (:mod:`seqlab.datasets`) says which files a dataset has; this module fetches them into
``data/raw/<dataset>/``. Every fetched file's sha256 is recorded in a lock file
(``data/sources.lock.json``) committed with the code: the first fetch of a new dataset records it,
a later fetch that finds a different file fails, and taking a revised upstream file is the explicit
``seqlab fetch DATASET --update``. Static datasets (IMDB, MNIST) also pin their known hashes in the
registry. Where the registry can count a file's records, the lock records that count too, and an
update to a file with fewer records (a cut download, a truncated revision) needs ``--allow-shrink``.

Errors: what a location delivered but is wrong (checksum, format, shrink) raises a
:class:`~seqlab.errors.DataIntegrityError`; only "no location could deliver it" raises
:class:`~seqlab.errors.SourceUnavailableError`, the one worth retrying.
"""

from __future__ import annotations

import http.client
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

from seqlab.errors import ChecksumError, DataFormatError, SourceShrankError, SourceUnavailableError
from seqlab.fileio import CHUNK_BYTES, sha256_file, write_json

MIRROR_ENV = "SEQLAB_DATA_MIRROR"
DOWNLOAD_TIMEOUT_SECONDS = 60.0
Log = Callable[[str], None]
RecordCounter = Callable[[Path], int]
# Key of a lock entry's record count (absent in entries written before counts were recorded).
RECORDS_KEY = "records"


@dataclass(frozen=True)
class SourceFile:
    """One raw file of a dataset: its local name, official locations and names in a mirror."""

    filename: str  # the name under data/raw/<dataset>/
    urls: tuple[str, ...]  # official locations (URLs or local paths), tried in order after the mirror
    mirror_folder: str | None  # <mirror>/<mirror_folder>/<name>; None: not looked for in a mirror
    mirror_names: tuple[str, ...] = ()
    pinned_sha256: dict[str, str] = field(default_factory=dict)  # known releases of a static file
    optional: bool = False  # used when present (MNIST's training files); its absence is not an error
    # Parses a copy of the file and returns how many records it holds (None: not counted). A fetch
    # records the count; --update refuses a file with fewer records unless told to allow it.
    count_records: RecordCounter | None = field(default=None, compare=False)


def read_lock(lock_path: str | Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Read the lock as ``{dataset: {file: {sha256, size[, records]}}}``; missing file = empty lock."""
    lock_path = Path(lock_path)
    if not lock_path.exists():
        return {}
    try:
        payload = json.loads(lock_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DataFormatError(lock_path, f"not valid JSON: {error.msg}", line=error.lineno) from error
    valid = isinstance(payload, dict) and all(
        isinstance(files, dict) and all(_valid_entry(entry) for entry in files.values())
        for files in payload.values()
    )
    if not valid:
        raise DataFormatError(
            lock_path,
            "expected an object of {dataset: {file: {sha256, size}}}, an entry optionally with the "
            "file's record count (records: a whole number)",
        )
    return payload


def _valid_entry(entry: Any) -> bool:
    """Check a lock entry: a sha256, and if present a record count that is a whole number."""
    if not isinstance(entry, dict) or "sha256" not in entry:
        return False
    records = entry.get(RECORDS_KEY)
    return records is None or (isinstance(records, int) and not isinstance(records, bool) and records >= 0)


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


@dataclass(frozen=True)
class _Fetch:
    """What one ``fetch_files`` call was asked to do, shared by the steps of each file."""

    dataset: str
    lock_path: Path
    mirror: str | None
    update: bool
    allow_shrink: bool
    log: Log


def _fetch_one(
    fetch: _Fetch, source: SourceFile, staged: Path, expected: str | None
) -> tuple[str, str] | None:
    """Fetch one file into ``staged`` and verify it.

    Returns its sha256 and the location it came from, or None for an optional file found nowhere.
    """
    dataset, log = fetch.dataset, fetch.log
    failures: list[str] = []
    for location in _locations(source, fetch.mirror, dataset):
        try:
            _copy_to(location, staged)
        except FileNotFoundError:
            failures.append(f"{location}: not found")
            continue
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            # http.client's IncompleteRead (a body cut short) is not an OSError: a failed location too
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
    if not fetch.update and expected and actual != expected and actual not in source.pinned_sha256:
        raise ChecksumError(
            f"{location} (for {source.filename})",
            expected=expected,
            actual=actual,
            hint=(
                f"upstream may have revised it; to take the new version run "
                f"`seqlab fetch {dataset} --update`, which records the new hash in {fetch.lock_path}"
            ),
        )
    return actual, location


def _lock_entry(
    fetch: _Fetch,
    source: SourceFile,
    sha256: str,
    copy: Path,
    origin: str,
    locked: dict[str, Any] | None,
    destination: Path,
) -> dict[str, Any]:
    """Return the file's new lock entry (size filled in once in place), with its record count if counted.

    ``copy`` is the verified file (staged from ``origin``, or already in place). A file the lock
    records unchanged keeps its entry; a new or revised one is counted, and an update to fewer
    records than the lock's fails unless ``allow_shrink``.
    """
    dataset, update = fetch.dataset, fetch.update
    entry: dict[str, Any] = {"sha256": sha256, "size": None}
    unchanged = locked is not None and locked["sha256"] == sha256
    if unchanged and locked is not None and locked.get(RECORDS_KEY) is not None:
        entry[RECORDS_KEY] = locked[RECORDS_KEY]
        return entry
    if source.count_records is None or (unchanged and not update):
        return entry  # not countable, or a plain fetch of what the lock already says
    try:
        records = source.count_records(copy)
    except DataFormatError as error:  # name where it came from, not the staging copy
        raise DataFormatError(origin, error.message, line=error.line) from None
    entry[RECORDS_KEY] = records
    if locked is None or unchanged:
        return entry
    before = locked.get(RECORDS_KEY)
    if before is None and destination.exists() and sha256_file(destination) == locked["sha256"]:
        try:  # a lock written before counts were recorded: count the locked file in place
            before = source.count_records(destination)
        except DataFormatError as error:
            fetch.log(f"{dataset}: the locked {source.filename} in place does not parse ({error})")
    if before is None:
        fetch.log(f"{dataset}: {source.filename}: no record count of the locked file to compare with")
    elif records < before and not fetch.allow_shrink:
        raise SourceShrankError(
            f"{dataset}: the revised {source.filename} ({origin}) parses to {records} records, fewer "
            f"than the {before} that {fetch.lock_path} records for it (a cut or truncated file?); "
            f"nothing was changed. If upstream really removed records, run `seqlab fetch {dataset} "
            "--update --allow-shrink`"
        )
    elif records != before:
        fetch.log(f"{dataset}: {source.filename}: {before} → {records} records")
    return entry


def fetch_files(
    dataset: str,
    sources: Sequence[SourceFile],
    raw_dir: str | Path,
    lock_path: str | Path,
    mirror: str | None = None,
    update: bool = False,
    log: Log = print,
    allow_shrink: bool = False,
) -> list[Path]:
    """Fetch a dataset's raw files into ``raw_dir`` and verify each against the lock.

    Tries the mirror (argument, else ``$SEQLAB_DATA_MIRROR``) first, then the official locations.
    All files are fetched and verified in a staging folder first and moved into place together, so a
    failure leaves the folder and the lock as they were. An optional file the lock does not record is
    not looked for again unless ``update``: what the lock records is the snapshot. With ``update``,
    a file that parses to fewer records than the lock records is refused unless ``allow_shrink``.
    """
    if allow_shrink and not update:
        raise ValueError(f"{dataset}: --allow-shrink only applies with --update (taking a revised file)")
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    lock_path, raw_dir = Path(lock_path), Path(raw_dir)
    fetch = _Fetch(dataset, lock_path, mirror, update, allow_shrink, log)
    locked = read_lock(lock_path).get(dataset, {})
    recorded: dict[str, dict[str, Any]] = {}
    present: list[Path] = []
    raw_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{raw_dir.name}.fetch-", dir=raw_dir.parent))
    try:
        staged: dict[str, Path] = {}
        dropped: list[Path] = []
        for source in sources:
            locked_entry = locked.get(source.filename)
            expected = str(locked_entry["sha256"]) if locked_entry is not None else None
            destination = raw_dir / source.filename
            if source.optional and locked and expected is None and not update:
                dropped.append(destination)  # the snapshot does not include it
                continue
            if not update and expected and destination.exists() and sha256_file(destination) == expected:
                log(f"{dataset}: {destination} already present and verified (sha256 {expected[:12]}…)")
                actual, origin = expected, str(destination)
            else:
                fetched = _fetch_one(fetch, source, staging / source.filename, expected)
                if fetched is None:
                    dropped.append(destination)
                    continue
                actual, origin = fetched
                staged[source.filename] = staging / source.filename
            copy = staged.get(source.filename, destination)
            recorded[source.filename] = _lock_entry(
                fetch, source, actual, copy, origin, locked_entry, destination
            )
            if expected and expected != actual:
                log(f"{dataset}: {source.filename}: lock updated {expected[:12]}… → {actual[:12]}…")
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
