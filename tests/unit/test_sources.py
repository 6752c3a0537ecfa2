"""fetch_files against real folders and a real local HTTP server (no mocks of urllib), plus fileio."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from seqlab.data import sources
from seqlab.data.sources import MIRROR_ENV, SourceFile, fetch_files, read_lock
from seqlab.errors import (
    ChecksumError,
    DataFormatError,
    DataIntegrityError,
    SourceShrankError,
    SourceUnavailableError,
)
from seqlab.fileio import atomic_directory, atomic_open

DATASET = "demo"
MIRROR_FOLDER = "demo_folder"  # deliberately not the dataset's name: the source file says where
FILENAME = "station.csv"
MIRROR_ALIAS = "alias.csv"
SECOND = "second.csv"
OPTIONAL = "extra.csv"
GOOD = b"year,value\n1950,1.5\n1951,2.5\n"
REVISED = b"year,value\n1950,1.5\n1951,2.5\n1952,3.5\n"
SHRUNK = b"year,value\n1950,1.5\n"
OTHER = b"month,value\n1,0.5\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry(data: bytes) -> dict[str, Any]:
    return {"sha256": sha(data), "size": len(data)}


def source_file(
    urls: Sequence[str],
    filename: str = FILENAME,
    pinned: dict[str, str] | None = None,
    optional: bool = False,
    mirror_folder: str | None = MIRROR_FOLDER,
    mirror_names: tuple[str, ...] = (MIRROR_ALIAS,),
    counted: bool = False,
) -> SourceFile:
    return SourceFile(
        filename=filename,
        urls=tuple(urls),
        mirror_folder=mirror_folder,
        mirror_names=mirror_names,
        pinned_sha256=pinned or {},
        optional=optional,
        count_records=count_rows if counted else None,
    )


def count_rows(path: Path) -> int:
    """A strict little parser: the rows under the header, each ``year,value``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines[1:], start=2):
        if len(line.split(",")) != 2:
            raise DataFormatError(path, "expected year,value", line=number)
    return len(lines) - 1


def counted_entry(data: bytes) -> dict[str, Any]:
    return {**entry(data), "records": len(data.decode().splitlines()) - 1}


# --------------------------------------------------------------------------- fixtures


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder; under ``/truncated/`` it announces 1000 bytes and drops the connection after 10."""

    def do_GET(self) -> None:
        if self.path.startswith("/chunked-cut/"):  # a chunked body that stops before its last chunk
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"a\r\n" + GOOD[:10] + b"\r\n")
            self.close_connection = True
            return
        if self.path.startswith("/truncated/"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(GOOD[:10])
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
        pass


@dataclass
class Server:
    folder: Path
    url: str

    def serve(self, path: str, data: bytes) -> str:
        """Put ``data`` at ``/<path>`` and return its URL."""
        target = self.folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return f"{self.url}/{path}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A real HTTP server on 127.0.0.1 serving ``tmp_path/served``, shut down after the test."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Server(folder=folder, url=f"http://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/upstream/{FILENAME}"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.setattr(sources, "DOWNLOAD_TIMEOUT_SECONDS", 5.0)


@dataclass
class Project:
    raw_dir: Path
    lock: Path
    mirror: Path
    logs: list[str] = field(default_factory=list)

    @property
    def destination(self) -> Path:
        return self.raw_dir / FILENAME

    def put_in_mirror(self, data: bytes, name: str = FILENAME, folder: str = MIRROR_FOLDER) -> Path:
        path = self.mirror / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def fetch(
        self,
        files: Sequence[SourceFile],
        mirror: str | None = None,
        update: bool = False,
        allow_shrink: bool = False,
    ) -> list[Path]:
        return fetch_files(
            DATASET,
            files,
            self.raw_dir,
            self.lock,
            mirror=mirror,
            update=update,
            log=self.logs.append,
            allow_shrink=allow_shrink,
        )

    def leftovers(self) -> list[str]:
        return sorted(path.name for path in self.raw_dir.iterdir()) if self.raw_dir.exists() else []


@pytest.fixture
def project(tmp_path: Path) -> Project:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    return Project(raw_dir=tmp_path / "raw" / DATASET, lock=tmp_path / "sources.lock.json", mirror=mirror)


def write_lock(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")


# --------------------------------------------------------------------------- where files come from


def test_fetch_from_mirror_folder_under_an_alias(project: Project, closed_url: str) -> None:
    project.put_in_mirror(GOOD, name=MIRROR_ALIAS)

    paths = project.fetch([source_file([closed_url])], mirror=str(project.mirror))

    assert paths == [project.destination]
    assert project.destination.read_bytes() == GOOD
    assert project.leftovers() == [FILENAME]
    assert read_lock(project.lock) == {DATASET: {FILENAME: entry(GOOD)}}
    assert any(str(project.mirror / MIRROR_FOLDER / MIRROR_ALIAS) in line for line in project.logs)


def test_mirror_looks_for_the_filename_before_the_aliases(project: Project, closed_url: str) -> None:
    project.put_in_mirror(REVISED, name=MIRROR_ALIAS)
    project.put_in_mirror(GOOD, name=FILENAME)
    project.put_in_mirror(OTHER, name=FILENAME, folder=DATASET)  # the dataset's name is not the folder

    project.fetch([source_file([closed_url])], mirror=str(project.mirror))

    assert project.destination.read_bytes() == GOOD
    assert any(f"fetched {project.mirror / MIRROR_FOLDER / FILENAME}" in line for line in project.logs)


def test_mirror_folder_from_environment(
    project: Project, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.put_in_mirror(GOOD)
    monkeypatch.setenv(MIRROR_ENV, str(project.mirror))

    assert project.fetch([source_file([closed_url])]) == [project.destination]
    assert project.destination.read_bytes() == GOOD


def test_fetch_from_mirror_base_url(project: Project, server: Server, closed_url: str) -> None:
    server.serve(f"{MIRROR_FOLDER}/{FILENAME}", GOOD)

    project.fetch([source_file([closed_url])], mirror=server.url + "/")

    assert project.destination.read_bytes() == GOOD
    assert project.leftovers() == [FILENAME]
    assert read_lock(project.lock)[DATASET][FILENAME]["sha256"] == sha(GOOD)
    assert any(f"{server.url}/{MIRROR_FOLDER}/{FILENAME}" in line for line in project.logs)


def test_mirror_lacking_the_file_falls_through_to_upstream(project: Project, server: Server) -> None:
    upstream = server.serve(f"upstream/{FILENAME}", GOOD)
    files = [source_file([upstream])]

    # An empty mirror folder, then a mirror URL that answers 404 for every name.
    project.fetch(files, mirror=str(project.mirror))
    assert project.destination.read_bytes() == GOOD
    project.destination.unlink()
    project.fetch(files, mirror=f"{server.url}/empty-mirror")
    assert project.destination.read_bytes() == GOOD

    assert any(f"fetched {upstream}" in line for line in project.logs)
    assert project.leftovers() == [FILENAME]


def test_official_locations_are_tried_in_order(project: Project, server: Server, closed_url: str) -> None:
    second = server.serve(f"second/{FILENAME}", GOOD)
    third = server.serve(f"third/{FILENAME}", REVISED)

    project.fetch([source_file([closed_url, f"{server.url}/missing/{FILENAME}", second, third])])

    assert project.destination.read_bytes() == GOOD
    assert any(f"fetched {second}" in line for line in project.logs)
    assert not any(third in line for line in project.logs)


def test_a_local_file_without_a_mirror_folder_is_copied(project: Project, tmp_path: Path) -> None:
    own = tmp_path / "own" / "series.csv"
    own.parent.mkdir()
    own.write_bytes(GOOD)
    project.put_in_mirror(REVISED, name="series.csv", folder=DATASET)
    files = [source_file([str(own)], filename="series.csv", mirror_folder=None, mirror_names=())]

    assert project.fetch(files, mirror=str(project.mirror)) == [project.raw_dir / "series.csv"]

    assert (project.raw_dir / "series.csv").read_bytes() == GOOD  # the mirror is not looked at
    assert read_lock(project.lock) == {DATASET: {"series.csv": entry(GOOD)}}
    own.unlink()
    with pytest.raises(SourceUnavailableError) as caught:
        project.fetch(files, mirror=str(project.mirror), update=True)
    assert f"{own}: not found" in str(caught.value)
    assert str(project.mirror) not in str(caught.value)


def test_every_location_failing_lists_each_and_leaves_nothing(
    project: Project, server: Server, closed_url: str
) -> None:
    files = [source_file([closed_url])]

    with pytest.raises(SourceUnavailableError) as caught:
        project.fetch(files, mirror=str(project.mirror))
    message = str(caught.value)
    for location in (
        project.mirror / MIRROR_FOLDER / FILENAME,
        project.mirror / MIRROR_FOLDER / MIRROR_ALIAS,
    ):
        assert f"{location}: not found" in message
    assert closed_url in message
    assert MIRROR_ENV in message
    assert FILENAME in message
    assert project.leftovers() == []
    assert not project.lock.exists()

    with pytest.raises(SourceUnavailableError) as caught:
        project.fetch(files, mirror=server.url)
    message = str(caught.value)
    assert f"{server.url}/{MIRROR_FOLDER}/{FILENAME}" in message
    assert f"{server.url}/{MIRROR_FOLDER}/{MIRROR_ALIAS}" in message
    assert closed_url in message
    assert project.leftovers() == []
    assert not project.lock.exists()


def test_truncated_download_is_a_failed_location_not_a_file(project: Project, server: Server) -> None:
    # Even --update (which skips the lock comparison) must not accept or record a partial file.
    with pytest.raises(SourceUnavailableError, match="incomplete download: got 10 of 1000 bytes"):
        project.fetch([source_file([f"{server.url}/truncated/{FILENAME}"])], update=True)
    assert project.leftovers() == []
    assert not project.lock.exists()

    # A truncated mirror falls through to a complete upstream.
    upstream = server.serve(f"upstream/{FILENAME}", GOOD)
    project.fetch([source_file([upstream])], mirror=f"{server.url}/truncated")
    assert project.destination.read_bytes() == GOOD
    assert read_lock(project.lock)[DATASET][FILENAME]["sha256"] == sha(GOOD)


# --------------------------------------------------------------------------- verification and the lock


def test_mismatch_with_lock_fails_and_keeps_the_existing_file(project: Project, closed_url: str) -> None:
    locked = b"the version recorded in the lock\n"
    write_lock(project.lock, {DATASET: {FILENAME: entry(locked)}})
    lock_before = project.lock.read_bytes()
    existing = b"a file already in data/raw\n"
    project.raw_dir.mkdir(parents=True)
    project.destination.write_bytes(existing)
    project.put_in_mirror(REVISED)

    with pytest.raises(ChecksumError) as caught:
        project.fetch([source_file([closed_url])], mirror=str(project.mirror))

    error = caught.value
    message = str(error)
    assert FILENAME in message
    assert sha(locked) in message and error.expected == sha(locked)
    assert sha(REVISED) in message and error.actual == sha(REVISED)
    assert f"seqlab fetch {DATASET} --update" in message
    assert project.destination.read_bytes() == existing
    assert project.leftovers() == [FILENAME]
    assert project.lock.read_bytes() == lock_before


def test_mismatch_without_an_existing_file_leaves_nothing(project: Project, closed_url: str) -> None:
    write_lock(project.lock, {DATASET: {FILENAME: entry(GOOD)}})
    project.put_in_mirror(REVISED)

    with pytest.raises(ChecksumError, match="--update"):
        project.fetch([source_file([closed_url])], mirror=str(project.mirror))
    assert project.leftovers() == []


def test_update_takes_the_new_file_and_rewrites_the_lock(project: Project, closed_url: str) -> None:
    other = {"other.dat": {"sha256": "0" * 64, "size": 12}}
    write_lock(project.lock, {DATASET: {FILENAME: entry(GOOD)}, "other": other})
    project.raw_dir.mkdir(parents=True)
    project.destination.write_bytes(GOOD)
    project.put_in_mirror(REVISED)
    files = [source_file([closed_url])]

    project.fetch(files, mirror=str(project.mirror), update=True)

    assert project.destination.read_bytes() == REVISED
    assert project.leftovers() == [FILENAME]
    lock = json.loads(project.lock.read_text(encoding="utf-8"))
    assert lock[DATASET] == {FILENAME: entry(REVISED)}
    assert lock["other"] == other
    assert any(f"{FILENAME}: lock updated" in line for line in project.logs)
    # The new hash is now the one a plain fetch expects.
    project.fetch(files, mirror=str(project.mirror))
    assert any("already present and verified" in line for line in project.logs)


def test_pinned_file_rejects_an_unknown_hash_even_with_update(project: Project, closed_url: str) -> None:
    files = [source_file([closed_url], pinned={sha(GOOD): "the one true release"})]
    project.put_in_mirror(REVISED)

    for update in (False, True):
        with pytest.raises(ChecksumError) as caught:
            project.fetch(files, mirror=str(project.mirror), update=update)
        assert caught.value.expected == sha(GOOD)
        assert caught.value.actual == sha(REVISED)
        assert f"{FILENAME} is a static file" in str(caught.value)
        assert project.leftovers() == []
        assert not project.lock.exists()

    project.put_in_mirror(GOOD)
    project.fetch(files, mirror=str(project.mirror))
    assert project.destination.read_bytes() == GOOD
    assert read_lock(project.lock)[DATASET][FILENAME]["sha256"] == sha(GOOD)


def test_another_known_release_of_a_pinned_file_is_accepted(project: Project, closed_url: str) -> None:
    # e.g. the published archive locked, the mirror's reconstruction found: both are known releases
    files = [source_file([closed_url], pinned={sha(GOOD): "published", sha(REVISED): "reconstruction"})]
    write_lock(project.lock, {DATASET: {FILENAME: entry(GOOD)}})
    project.put_in_mirror(REVISED)

    project.fetch(files, mirror=str(project.mirror))

    assert project.destination.read_bytes() == REVISED
    assert read_lock(project.lock) == {DATASET: {FILENAME: entry(REVISED)}}
    assert any("lock updated" in line for line in project.logs)


def test_second_fetch_of_a_verified_file_does_not_copy_again(project: Project, closed_url: str) -> None:
    files = [source_file([closed_url])]
    mirrored = project.put_in_mirror(GOOD)
    project.fetch(files, mirror=str(project.mirror))
    os.utime(project.destination, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = project.destination.stat().st_mtime_ns
    lock_before = project.lock.read_bytes()
    mirrored.unlink()  # nothing could be copied now: the file must be reused as it is

    assert project.fetch(files, mirror=str(project.mirror)) == [project.destination]

    assert project.destination.stat().st_mtime_ns == before
    assert project.lock.read_bytes() == lock_before
    assert any("already present and verified" in line for line in project.logs)


def test_corrupt_lock_names_the_file_and_line(project: Project, closed_url: str) -> None:
    project.lock.write_text('{\n  "demo": {"sha256": "abc",}\n}\n', encoding="utf-8")

    with pytest.raises(DataFormatError) as caught:
        project.fetch([source_file([closed_url])], mirror=str(project.mirror))
    assert caught.value.path == project.lock
    assert caught.value.line == 2
    assert f"{project.lock}, line 2" in str(caught.value)


@pytest.mark.parametrize(
    "payload",
    [
        ["not", "a", "mapping"],
        {DATASET: ["station.csv"]},
        {DATASET: {FILENAME: "abc"}},
        {DATASET: {FILENAME: {"size": 3}}},
    ],
)
def test_lock_of_the_wrong_shape_is_rejected(project: Project, payload: Any) -> None:
    write_lock(project.lock, payload)
    with pytest.raises(DataFormatError, match="sources.lock.json") as caught:
        read_lock(project.lock)
    assert caught.value.path == project.lock


def test_lock_in_the_old_single_file_format_is_rejected_naming_the_file(
    project: Project, closed_url: str
) -> None:
    write_lock(project.lock, {DATASET: {"file": FILENAME, "sha256": sha(GOOD), "size": len(GOOD)}})
    lock_before = project.lock.read_bytes()
    project.put_in_mirror(GOOD)

    with pytest.raises(DataFormatError) as caught:
        project.fetch([source_file([closed_url])], mirror=str(project.mirror))
    assert caught.value.path == project.lock
    message = str(caught.value)
    assert str(project.lock) in message
    assert "{dataset: {file: {sha256, size}}}" in message
    assert project.leftovers() == []
    assert project.lock.read_bytes() == lock_before


def test_a_missing_lock_is_an_empty_one(project: Project) -> None:
    assert read_lock(project.lock) == {}


def test_no_files_fetches_nothing_and_writes_no_lock(project: Project) -> None:
    # (Unknown dataset names are refused before any fetch: Params.dataset, see test_config.)
    assert project.fetch([], mirror=str(project.mirror)) == []
    assert not project.raw_dir.exists()
    assert not project.lock.exists()


def test_the_lock_keeps_what_another_fetch_wrote_meanwhile(project: Project, closed_url: str) -> None:
    project.put_in_mirror(GOOD)
    meanwhile = {"other": {"other.dat": entry(OTHER)}}

    def log(line: str) -> None:  # another dataset's fetch finishes while this one runs
        if "fetched" in line:
            write_lock(project.lock, meanwhile)

    fetch_files(
        DATASET, [source_file([closed_url])], project.raw_dir, project.lock, str(project.mirror), log=log
    )

    assert read_lock(project.lock) == {**meanwhile, DATASET: {FILENAME: entry(GOOD)}}


# --------------------------------------------------------------------------- several files, optional files


def test_multi_file_dataset_records_each_file(project: Project, closed_url: str) -> None:
    files = [source_file([closed_url]), source_file([closed_url], filename=SECOND, mirror_names=())]
    project.put_in_mirror(GOOD)
    project.put_in_mirror(OTHER, name=SECOND)

    paths = project.fetch(files, mirror=str(project.mirror))

    assert paths == [project.destination, project.raw_dir / SECOND]
    assert (project.raw_dir / SECOND).read_bytes() == OTHER
    assert read_lock(project.lock) == {DATASET: {FILENAME: entry(GOOD), SECOND: entry(OTHER)}}
    lock_before = project.lock.read_bytes()

    assert project.fetch(files, mirror=str(project.mirror)) == paths
    assert sum("already present and verified" in line for line in project.logs) == 2
    assert project.lock.read_bytes() == lock_before


def test_multi_file_dataset_checks_each_file_against_the_lock(project: Project, closed_url: str) -> None:
    files = [source_file([closed_url]), source_file([closed_url], filename=SECOND, mirror_names=())]
    write_lock(project.lock, {DATASET: {FILENAME: entry(GOOD), SECOND: entry(OTHER)}})
    lock_before = project.lock.read_bytes()
    project.put_in_mirror(GOOD)
    project.put_in_mirror(REVISED, name=SECOND)

    with pytest.raises(ChecksumError) as caught:
        project.fetch(files, mirror=str(project.mirror))
    assert SECOND in str(caught.value)
    assert caught.value.expected == sha(OTHER)
    assert SECOND not in project.leftovers()
    assert project.lock.read_bytes() == lock_before


def test_a_missing_required_file_leaves_the_lock_unchanged(project: Project, closed_url: str) -> None:
    files = [source_file([closed_url]), source_file([closed_url], filename=SECOND, mirror_names=())]
    project.put_in_mirror(GOOD)

    with pytest.raises(SourceUnavailableError, match=SECOND):
        project.fetch(files, mirror=str(project.mirror))
    assert not project.lock.exists()
    assert SECOND not in project.leftovers()


def test_a_failed_multi_file_fetch_leaves_every_file_and_the_lock_as_they_were(
    project: Project, closed_url: str
) -> None:
    """All or nothing: a revised first file is not put in place when the second cannot be fetched."""
    files = [source_file([closed_url]), source_file([closed_url], filename=SECOND, mirror_names=())]
    project.put_in_mirror(GOOD)
    project.put_in_mirror(OTHER, name=SECOND)
    project.fetch(files, mirror=str(project.mirror))
    lock_before = project.lock.read_bytes()
    project.put_in_mirror(REVISED)
    (project.mirror / MIRROR_FOLDER / SECOND).unlink()
    (project.raw_dir / SECOND).unlink()

    with pytest.raises(SourceUnavailableError, match=SECOND):
        project.fetch(files, mirror=str(project.mirror), update=True)
    assert project.destination.read_bytes() == GOOD  # the verified copy is still there
    assert project.lock.read_bytes() == lock_before
    assert project.leftovers() == [FILENAME]
    assert not [
        path for path in project.raw_dir.parent.iterdir() if path.name.startswith(".")
    ]  # no staging left


def test_a_first_fetch_that_fails_half_way_leaves_no_file(project: Project, closed_url: str) -> None:
    files = [source_file([closed_url]), source_file([closed_url], filename=SECOND, mirror_names=())]
    project.put_in_mirror(GOOD)
    with pytest.raises(SourceUnavailableError):
        project.fetch(files, mirror=str(project.mirror))
    assert project.leftovers() == [] and not project.lock.exists()


def test_optional_file_absent_everywhere_on_first_fetch_is_skipped(project: Project, closed_url: str) -> None:
    files = [
        source_file([closed_url]),
        source_file(
            [closed_url.replace(FILENAME, OPTIONAL)], filename=OPTIONAL, optional=True, mirror_names=()
        ),
    ]
    project.put_in_mirror(GOOD)

    paths = project.fetch(files, mirror=str(project.mirror))

    assert paths == [project.destination]
    assert project.leftovers() == [FILENAME]
    assert read_lock(project.lock) == {DATASET: {FILENAME: entry(GOOD)}}
    assert any(f"optional {OPTIONAL} not available" in line for line in project.logs)


def test_optional_file_not_in_the_lock_is_fetched_only_with_update(project: Project, closed_url: str) -> None:
    files = [
        source_file([closed_url]),
        source_file([closed_url], filename=OPTIONAL, optional=True, mirror_names=()),
    ]
    project.put_in_mirror(GOOD)
    project.fetch(files, mirror=str(project.mirror))  # the first snapshot: without the optional file
    lock_before = project.lock.read_bytes()

    project.put_in_mirror(OTHER, name=OPTIONAL)  # now it is available, and a stale copy lies in raw/
    (project.raw_dir / OPTIONAL).write_bytes(b"stale\n")
    assert project.fetch(files, mirror=str(project.mirror)) == [project.destination]
    assert project.leftovers() == [FILENAME]  # the snapshot does not include it
    assert project.lock.read_bytes() == lock_before

    paths = project.fetch(files, mirror=str(project.mirror), update=True)

    assert paths == [project.destination, project.raw_dir / OPTIONAL]
    assert (project.raw_dir / OPTIONAL).read_bytes() == OTHER
    assert read_lock(project.lock) == {DATASET: {FILENAME: entry(GOOD), OPTIONAL: entry(OTHER)}}
    # once recorded, a plain fetch verifies it like any other file
    assert project.fetch(files, mirror=str(project.mirror)) == paths


def test_optional_file_the_lock_records_must_be_found(project: Project, closed_url: str) -> None:
    files = [source_file([closed_url], filename=OPTIONAL, optional=True, mirror_names=())]
    write_lock(project.lock, {DATASET: {OPTIONAL: entry(OTHER)}})

    with pytest.raises(SourceUnavailableError, match=OPTIONAL):
        project.fetch(files, mirror=str(project.mirror))
    assert project.leftovers() == []


# --------------------------------------------------------------------------- fileio


def test_atomic_open_keeps_the_old_file_when_the_block_raises(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n", encoding="utf-8")

    with pytest.raises(RuntimeError, match="boom"), atomic_open(target) as handle:
        handle.write("half of the new")
        raise RuntimeError("boom")

    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.txt"]

    with atomic_open(target) as handle:
        handle.write("new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_directory_replaces_a_folder_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "prepared"
    target.mkdir()
    (target / "old.txt").write_text("old", encoding="utf-8")

    with pytest.raises(RuntimeError, match="boom"), atomic_directory(target) as folder:
        (folder / "new.txt").write_text("new", encoding="utf-8")
        raise RuntimeError("boom")
    assert sorted(path.name for path in target.iterdir()) == ["old.txt"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["prepared"]

    with atomic_directory(target) as folder:
        (folder / "new.txt").write_text("new", encoding="utf-8")
    assert sorted(path.name for path in target.iterdir()) == ["new.txt"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["prepared"]


def test_atomic_directory_failure_without_a_previous_folder_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "fresh") as folder:
        (folder / "partial.txt").write_text("x", encoding="utf-8")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- record counts and error families


def test_a_body_cut_short_mid_chunk_is_a_failed_location(project: Project, server: Server) -> None:
    # http.client's IncompleteRead is not an OSError: it must still count as a location that failed
    with pytest.raises(SourceUnavailableError, match="IncompleteRead"):
        project.fetch([source_file([f"{server.url}/chunked-cut/{FILENAME}"])])
    assert project.leftovers() == []
    assert not project.lock.exists()


def test_errors_come_in_two_families_retryable_or_not() -> None:
    # what an orchestrator retries (the network) is never a ValueError; what it must not retry is
    for wrong_data in (ChecksumError, DataFormatError, SourceShrankError):
        assert issubclass(wrong_data, DataIntegrityError) and issubclass(wrong_data, ValueError)
    assert not issubclass(SourceUnavailableError, ValueError)


def test_a_first_fetch_records_the_record_count(project: Project, closed_url: str) -> None:
    project.put_in_mirror(GOOD)
    project.fetch([source_file([closed_url], counted=True)], mirror=str(project.mirror))
    assert read_lock(project.lock)[DATASET] == {FILENAME: counted_entry(GOOD)}


def test_update_to_fewer_records_is_refused_unless_allowed(project: Project, closed_url: str) -> None:
    write_lock(project.lock, {DATASET: {FILENAME: counted_entry(REVISED)}})
    project.raw_dir.mkdir(parents=True)
    project.destination.write_bytes(REVISED)
    lock_before = project.lock.read_bytes()
    mirrored = project.put_in_mirror(SHRUNK)
    files = [source_file([closed_url], counted=True)]

    with pytest.raises(SourceShrankError) as caught:
        project.fetch(files, mirror=str(project.mirror), update=True)
    message = str(caught.value)
    for fragment in (DATASET, FILENAME, str(mirrored), "1 records", "the 3 that", "--allow-shrink"):
        assert fragment in message
    assert project.destination.read_bytes() == REVISED and project.leftovers() == [FILENAME]
    assert project.lock.read_bytes() == lock_before
    assert not any("lock updated" in line for line in project.logs)

    project.fetch(files, mirror=str(project.mirror), update=True, allow_shrink=True)
    assert project.destination.read_bytes() == SHRUNK
    assert read_lock(project.lock)[DATASET] == {FILENAME: counted_entry(SHRUNK)}
    assert any("3 → 1 records" in line for line in project.logs)


def test_update_to_more_records_records_the_new_count(project: Project, closed_url: str) -> None:
    write_lock(project.lock, {DATASET: {FILENAME: counted_entry(GOOD)}})
    project.put_in_mirror(REVISED)
    project.fetch([source_file([closed_url], counted=True)], mirror=str(project.mirror), update=True)
    assert read_lock(project.lock)[DATASET] == {FILENAME: counted_entry(REVISED)}


def test_a_lock_without_counts_is_compared_with_the_file_in_place(project: Project, closed_url: str) -> None:
    write_lock(project.lock, {DATASET: {FILENAME: entry(REVISED)}})  # written before counts existed
    project.raw_dir.mkdir(parents=True)
    project.destination.write_bytes(REVISED)
    project.put_in_mirror(SHRUNK)
    with pytest.raises(SourceShrankError, match="1 records, fewer than the 3"):
        project.fetch([source_file([closed_url], counted=True)], mirror=str(project.mirror), update=True)
    assert project.destination.read_bytes() == REVISED


def test_a_lock_without_counts_and_no_file_in_place_takes_the_update(
    project: Project, closed_url: str
) -> None:
    write_lock(project.lock, {DATASET: {FILENAME: entry(REVISED)}})
    project.put_in_mirror(SHRUNK)
    project.fetch([source_file([closed_url], counted=True)], mirror=str(project.mirror), update=True)
    assert read_lock(project.lock)[DATASET] == {FILENAME: counted_entry(SHRUNK)}
    assert any("no record count of the locked file" in line for line in project.logs)


def test_a_plain_fetch_leaves_a_lock_without_counts_as_it_is(project: Project, closed_url: str) -> None:
    write_lock(project.lock, {DATASET: {FILENAME: entry(GOOD)}})
    lock_before = project.lock.read_bytes()
    project.put_in_mirror(GOOD)
    files = [source_file([closed_url], counted=True)]
    project.fetch(files, mirror=str(project.mirror))  # copied: not in place yet
    project.fetch(files, mirror=str(project.mirror))  # already in place
    assert project.lock.read_bytes() == lock_before


def test_an_update_to_the_same_file_adds_its_count(project: Project, closed_url: str) -> None:
    write_lock(project.lock, {DATASET: {FILENAME: entry(GOOD)}})
    project.put_in_mirror(GOOD)
    project.fetch([source_file([closed_url], counted=True)], mirror=str(project.mirror), update=True)
    assert read_lock(project.lock)[DATASET] == {FILENAME: counted_entry(GOOD)}


def test_allow_shrink_needs_update(project: Project) -> None:
    with pytest.raises(ValueError, match="--allow-shrink only applies with --update"):
        project.fetch([], allow_shrink=True)


def test_a_fetched_file_that_does_not_parse_names_where_it_came_from(
    project: Project, closed_url: str
) -> None:
    mirrored = project.put_in_mirror(b"year,value\n1950,1.5\n1951\n")
    with pytest.raises(DataFormatError) as caught:
        project.fetch([source_file([closed_url], counted=True)], mirror=str(project.mirror))
    assert caught.value.path == mirrored and caught.value.line == 3
    assert project.leftovers() == []
    assert not project.lock.exists()


@pytest.mark.parametrize("records", ["many", -1, 2.5, True])
def test_a_lock_entry_with_a_bad_record_count_is_rejected(project: Project, records: Any) -> None:
    write_lock(project.lock, {DATASET: {FILENAME: {**entry(GOOD), "records": records}}})
    with pytest.raises(DataFormatError, match="records"):
        read_lock(project.lock)


def test_a_locked_file_in_place_that_does_not_parse_does_not_block_an_update(
    project: Project, closed_url: str
) -> None:
    broken = b"year,value\n1950\n"
    write_lock(project.lock, {DATASET: {FILENAME: entry(broken)}})
    project.raw_dir.mkdir(parents=True)
    project.destination.write_bytes(broken)
    project.put_in_mirror(GOOD)
    project.fetch([source_file([closed_url], counted=True)], mirror=str(project.mirror), update=True)
    assert read_lock(project.lock)[DATASET] == {FILENAME: counted_entry(GOOD)}
    assert any("does not parse" in line for line in project.logs)
