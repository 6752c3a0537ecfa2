"""Where each raw file comes from, how it is fetched (mirror first, then upstream) and verified.

Every fetched file's sha256 is recorded in a lock file (``data/sources.lock.json``) that is
committed with the code. IMDB's archive is static, so its accepted hashes are also pinned here.
GISS and CET are revised upstream: the lock holds the snapshot we version with DVC, a fetch that
finds a different file fails, and taking the newer upstream version is the explicit
``seqlab fetch DATASET --update``, which records the new hash.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from seqlab.errors import ChecksumError, DataFormatError, SourceUnavailableError
from seqlab.fileio import CHUNK_BYTES, atomic_path, sha256_file, write_json

MIRROR_ENV = "SEQLAB_DATA_MIRROR"
DOWNLOAD_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class SourceFile:
    """One upstream file of a dataset and the names it may carry in a mirror."""

    dataset: str
    filename: str
    url: str
    mirror_names: tuple[str, ...]
    pinned_sha256: dict[str, str] = field(default_factory=dict)

    @property
    def revised_upstream(self) -> bool:
        """True when upstream republishes the file, so only the lock (not the code) pins it."""
        return not self.pinned_sha256


SOURCES: dict[str, SourceFile] = {
    "imdb": SourceFile(
        dataset="imdb",
        filename="aclImdb.tar.gz",
        url="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
        mirror_names=("aclImdb_v1.tar.gz", "aclImdb_train_test.tar.gz"),
        pinned_sha256={
            "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe": (
                "Stanford aclImdb_v1.tar.gz, as published in 2011"
            ),
            "3c27c84c5b647935a2b44ee9c5b3fc302d26b6d268caf4c6a360aa7cb1f5fce7": (
                "byte-identical train/test reviews of aclImdb_v1 without train/unsup "
                "(the shared mirror's reconstruction, see its PROVENANCE.md)"
            ),
        },
    ),
    "giss": SourceFile(
        dataset="giss",
        filename="station.csv",
        url="https://data.giss.nasa.gov/cgi-bin/gistemp/stdata_show_v4.cgi?id=USW00024233&ds=14&dt=1",
        mirror_names=("station.csv", "seatac_station.csv"),
    ),
    "cet": SourceFile(
        dataset="cet",
        filename="cetdl1772on.dat",
        url="https://www.metoffice.gov.uk/hadobs/hadcet/cetdl1772on.dat",
        mirror_names=("cetdl1772on.dat",),
    ),
}
FETCHED_DATASETS: tuple[str, ...] = tuple(SOURCES)


def source_for(dataset: str) -> SourceFile:
    """Return the source of a fetched dataset, with a clear error for an unknown name."""
    try:
        return SOURCES[dataset]
    except KeyError:
        raise ValueError(
            f"dataset {dataset!r} has no download source; expected one of {', '.join(SOURCES)}"
        ) from None


def read_lock(lock_path: str | Path) -> dict[str, dict[str, str | int]]:
    """Read the sha256 lock; a missing file is an empty lock, a corrupt one an error naming it."""
    lock_path = Path(lock_path)
    if not lock_path.exists():
        return {}
    try:
        payload = json.loads(lock_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DataFormatError(lock_path, f"not valid JSON: {error.msg}", line=error.lineno) from error
    if not isinstance(payload, dict) or not all(isinstance(entry, dict) for entry in payload.values()):
        raise DataFormatError(lock_path, "expected an object of {dataset: {sha256, size, ...}}")
    return payload


def _mirror_candidates(mirror: str, source: SourceFile) -> list[str]:
    """Locations to try inside a mirror: ``<mirror>/<dataset>/<name>`` for each known name."""
    locations = []
    for name in (source.filename, *source.mirror_names):
        if "://" in mirror:
            location = mirror.rstrip("/") + f"/{source.dataset}/{urllib.parse.quote(name)}"
        else:
            location = str(Path(mirror).expanduser() / source.dataset / name)
        if location not in locations:
            locations.append(location)
    return locations


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


def fetch_source(
    dataset: str,
    raw_root: str | Path,
    lock_path: str | Path,
    mirror: str | None = None,
    update: bool = False,
    log: Callable[[str], None] = print,
) -> Path:
    """Fetch a dataset's raw file into ``raw_root/<dataset>/`` and verify its sha256.

    Tries the mirror (argument, else ``$SEQLAB_DATA_MIRROR``) first, then the official URL.
    Without ``update`` the file must match the hash in the lock (and, for IMDB, a pinned hash);
    with ``update`` a revised upstream file is accepted and its hash written to the lock.
    The file appears only when complete and verified; on any failure nothing is left behind.
    """
    source = source_for(dataset)
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    destination = Path(raw_root) / dataset / source.filename
    lock = read_lock(lock_path)
    locked = lock.get(dataset, {})
    expected = str(locked["sha256"]) if "sha256" in locked else None

    if not update and expected and destination.exists() and sha256_file(destination) == expected:
        log(f"{dataset}: {destination} already present and verified (sha256 {expected[:12]}…)")
        return destination

    locations = (_mirror_candidates(mirror, source) if mirror else []) + [source.url]
    failures: list[str] = []
    with atomic_path(destination) as temporary:
        for location in locations:
            try:
                _copy_to(location, temporary)
            except FileNotFoundError:
                failures.append(f"{location}: not found")
                continue
            except (urllib.error.URLError, OSError, TimeoutError) as error:
                failures.append(f"{location}: {getattr(error, 'reason', error)}")
                continue
            log(f"{dataset}: fetched {location}")
            break
        else:
            raise SourceUnavailableError(
                f"{dataset}: could not fetch {source.filename} from any location "
                f"(set {MIRROR_ENV} to a folder or URL holding <dataset>/<file>):\n  " + "\n  ".join(failures)
            )
        actual = sha256_file(temporary)
        if source.pinned_sha256 and actual not in source.pinned_sha256:
            raise ChecksumError(
                f"{location} (for {destination})",
                expected=" or ".join(source.pinned_sha256),
                actual=actual,
                hint=f"{dataset} is a static dataset; this file is not one of its known releases",
            )
        if not update and expected and actual != expected and actual not in source.pinned_sha256:
            raise ChecksumError(
                f"{location} (for {destination})",
                expected=expected,
                actual=actual,
                hint=(
                    f"upstream may have revised it; to take the new version run "
                    f"`seqlab fetch {dataset} --update`, which records the new hash in {lock_path}"
                ),
            )
    # The verified file is in place; record its hash when it is new or explicitly updated.
    if update or expected != actual:
        lock[dataset] = {"file": source.filename, "sha256": actual, "size": destination.stat().st_size}
        write_json(lock_path, lock)
        if expected and expected != actual:
            log(f"{dataset}: lock updated {expected[:12]}… → {actual[:12]}… in {lock_path}")
    log(f"{dataset}: {destination} verified (sha256 {actual[:12]}…)")
    return destination
