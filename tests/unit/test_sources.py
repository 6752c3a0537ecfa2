"""fetch_source against real folders and a real local HTTP server (no mocks of urllib), plus fileio."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from seqlab.data import sources
from seqlab.data.sources import MIRROR_ENV, SOURCES, SourceFile, fetch_source, read_lock
from seqlab.errors import ChecksumError, DataFormatError, SourceUnavailableError
from seqlab.fileio import atomic_directory, atomic_open

DATASET = "demo"
FILENAME = "station.csv"
MIRROR_ALIAS = "alias.csv"
GOOD = b"year,value\n1950,1.5\n1951,2.5\n"
REVISED = b"year,value\n1950,1.5\n1951,2.5\n1952,3.5\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- fixtures


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder; under ``/truncated/`` it announces 1000 bytes and drops the connection after 10."""

    def do_GET(self) -> None:
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


def use_source(monkeypatch: pytest.MonkeyPatch, url: str, pinned: dict[str, str] | None = None) -> SourceFile:
    source = SourceFile(
        dataset=DATASET,
        filename=FILENAME,
        url=url,
        mirror_names=(FILENAME, MIRROR_ALIAS),
        pinned_sha256=pinned or {},
    )
    monkeypatch.setitem(SOURCES, DATASET, source)
    return source


@dataclass
class Project:
    raw: Path
    lock: Path
    mirror: Path
    logs: list[str]

    @property
    def destination(self) -> Path:
        return self.raw / DATASET / FILENAME

    def put_in_mirror(self, data: bytes, name: str = FILENAME) -> Path:
        path = self.mirror / DATASET / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def fetch(self, mirror: str | None = None, update: bool = False) -> Path:
        return fetch_source(DATASET, self.raw, self.lock, mirror=mirror, update=update, log=self.logs.append)

    def leftovers(self) -> list[str]:
        folder = self.raw / DATASET
        return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def project(tmp_path: Path) -> Project:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    return Project(raw=tmp_path / "raw", lock=tmp_path / "sources.lock.json", mirror=mirror, logs=[])


def write_lock(path: Path, payload: dict[str, dict[str, str | int]]) -> None:
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")


# --------------------------------------------------------------------------- where files come from


def test_fetch_from_mirror_folder_under_an_alias(
    project: Project, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_source(monkeypatch, closed_url)
    project.put_in_mirror(GOOD, name=MIRROR_ALIAS)

    path = project.fetch(mirror=str(project.mirror))

    assert path == project.destination
    assert path.read_bytes() == GOOD
    assert project.leftovers() == [FILENAME]
    lock = read_lock(project.lock)
    assert lock == {DATASET: {"file": FILENAME, "sha256": sha(GOOD), "size": len(GOOD)}}
    assert any(str(project.mirror / DATASET / MIRROR_ALIAS) in line for line in project.logs)


def test_mirror_folder_from_environment(
    project: Project, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_source(monkeypatch, closed_url)
    project.put_in_mirror(GOOD)
    monkeypatch.setenv(MIRROR_ENV, str(project.mirror))

    assert project.fetch().read_bytes() == GOOD


def test_fetch_from_mirror_base_url(
    project: Project, server: Server, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_source(monkeypatch, closed_url)
    (server.folder / DATASET).mkdir()
    (server.folder / DATASET / FILENAME).write_bytes(GOOD)

    path = project.fetch(mirror=server.url + "/")

    assert path.read_bytes() == GOOD
    assert project.leftovers() == [FILENAME]
    assert read_lock(project.lock)[DATASET]["sha256"] == sha(GOOD)
    assert any(f"{server.url}/{DATASET}/{FILENAME}" in line for line in project.logs)


def test_mirror_lacking_the_file_falls_through_to_upstream(
    project: Project, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = f"{server.url}/upstream/{FILENAME}"
    use_source(monkeypatch, upstream)
    (server.folder / "upstream").mkdir()
    (server.folder / "upstream" / FILENAME).write_bytes(GOOD)

    # An empty mirror folder, then a mirror URL that answers 404 for every name.
    assert project.fetch(mirror=str(project.mirror)).read_bytes() == GOOD
    project.destination.unlink()
    assert project.fetch(mirror=f"{server.url}/empty-mirror").read_bytes() == GOOD

    assert any(f"fetched {upstream}" in line for line in project.logs)
    assert project.leftovers() == [FILENAME]


def test_every_location_failing_lists_each_and_leaves_nothing(
    project: Project, server: Server, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_source(monkeypatch, closed_url)

    with pytest.raises(SourceUnavailableError) as caught:
        project.fetch(mirror=str(project.mirror))
    message = str(caught.value)
    for location in (
        project.mirror / DATASET / FILENAME,
        project.mirror / DATASET / MIRROR_ALIAS,
    ):
        assert f"{location}: not found" in message
    assert closed_url in message
    assert MIRROR_ENV in message
    assert project.leftovers() == []
    assert not project.lock.exists()

    with pytest.raises(SourceUnavailableError) as caught:
        project.fetch(mirror=server.url)
    message = str(caught.value)
    assert f"{server.url}/{DATASET}/{FILENAME}" in message
    assert f"{server.url}/{DATASET}/{MIRROR_ALIAS}" in message
    assert closed_url in message
    assert project.leftovers() == []


def test_truncated_download_is_a_failed_location_not_a_file(
    project: Project, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = f"{server.url}/upstream/{FILENAME}"
    use_source(monkeypatch, f"{server.url}/truncated/{FILENAME}")

    # Even --update (which skips the lock comparison) must not accept or record a partial file.
    with pytest.raises(SourceUnavailableError, match="incomplete download: got 10 of 1000 bytes"):
        project.fetch(update=True)
    assert project.leftovers() == []
    assert not project.lock.exists()

    # A truncated mirror falls through to a complete upstream.
    use_source(monkeypatch, upstream)
    (server.folder / "upstream").mkdir()
    (server.folder / "upstream" / FILENAME).write_bytes(GOOD)
    assert project.fetch(mirror=f"{server.url}/truncated").read_bytes() == GOOD
    assert read_lock(project.lock)[DATASET]["sha256"] == sha(GOOD)


# --------------------------------------------------------------------------- verification and the lock


def test_mismatch_with_lock_fails_and_keeps_the_existing_file(
    project: Project, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_source(monkeypatch, closed_url)
    locked = b"the version recorded in the lock\n"
    write_lock(project.lock, {DATASET: {"file": FILENAME, "sha256": sha(locked), "size": len(locked)}})
    lock_before = project.lock.read_bytes()
    existing = b"a file already in data/raw\n"
    project.destination.parent.mkdir(parents=True)
    project.destination.write_bytes(existing)
    project.put_in_mirror(REVISED)

    with pytest.raises(ChecksumError) as caught:
        project.fetch(mirror=str(project.mirror))

    error = caught.value
    message = str(error)
    assert FILENAME in message
    assert sha(locked) in message and error.expected == sha(locked)
    assert sha(REVISED) in message and error.actual == sha(REVISED)
    assert f"seqlab fetch {DATASET} --update" in message
    assert project.destination.read_bytes() == existing
    assert project.leftovers() == [FILENAME]
    assert project.lock.read_bytes() == lock_before


def test_mismatch_without_an_existing_file_leaves_nothing(
    project: Project, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_source(monkeypatch, closed_url)
    write_lock(project.lock, {DATASET: {"file": FILENAME, "sha256": sha(GOOD), "size": len(GOOD)}})
    project.put_in_mirror(REVISED)

    with pytest.raises(ChecksumError, match="--update"):
        project.fetch(mirror=str(project.mirror))
    assert project.leftovers() == []


def test_update_takes_the_new_file_and_rewrites_the_lock(
    project: Project, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_source(monkeypatch, closed_url)
    other = {"file": "other.dat", "sha256": "0" * 64, "size": 12}
    write_lock(
        project.lock, {DATASET: {"file": FILENAME, "sha256": sha(GOOD), "size": len(GOOD)}, "other": other}
    )
    project.destination.parent.mkdir(parents=True)
    project.destination.write_bytes(GOOD)
    project.put_in_mirror(REVISED)

    project.fetch(mirror=str(project.mirror), update=True)

    assert project.destination.read_bytes() == REVISED
    assert project.leftovers() == [FILENAME]
    lock = json.loads(project.lock.read_text(encoding="utf-8"))
    assert lock[DATASET] == {"file": FILENAME, "sha256": sha(REVISED), "size": len(REVISED)}
    assert lock["other"] == other
    assert any("lock updated" in line for line in project.logs)
    # The new hash is now the one a plain fetch expects.
    project.fetch(mirror=str(project.mirror))
    assert any("already present and verified" in line for line in project.logs)


def test_pinned_dataset_rejects_an_unknown_hash_even_with_update(
    project: Project, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_source(monkeypatch, closed_url, pinned={sha(GOOD): "the one true release"})
    project.put_in_mirror(REVISED)

    for update in (False, True):
        with pytest.raises(ChecksumError) as caught:
            project.fetch(mirror=str(project.mirror), update=update)
        assert caught.value.expected == sha(GOOD)
        assert caught.value.actual == sha(REVISED)
        assert "static dataset" in str(caught.value)
        assert project.leftovers() == []
        assert not project.lock.exists()

    project.put_in_mirror(GOOD)
    assert project.fetch(mirror=str(project.mirror)).read_bytes() == GOOD
    assert read_lock(project.lock)[DATASET]["sha256"] == sha(GOOD)


def test_second_fetch_of_a_verified_file_does_not_copy_again(
    project: Project, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_source(monkeypatch, closed_url)
    mirrored = project.put_in_mirror(GOOD)
    project.fetch(mirror=str(project.mirror))
    os.utime(project.destination, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = project.destination.stat().st_mtime_ns
    lock_before = project.lock.read_bytes()
    mirrored.unlink()  # nothing could be copied now: the file must be reused as it is

    assert project.fetch(mirror=str(project.mirror)) == project.destination

    assert project.destination.stat().st_mtime_ns == before
    assert project.lock.read_bytes() == lock_before
    assert "already present and verified" in project.logs[-1]


def test_corrupt_lock_names_the_file_and_line(
    project: Project, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_source(monkeypatch, closed_url)
    project.lock.write_text('{\n  "demo": {"sha256": "abc",}\n}\n', encoding="utf-8")

    with pytest.raises(DataFormatError) as caught:
        project.fetch(mirror=str(project.mirror))
    assert caught.value.path == project.lock
    assert caught.value.line == 2
    assert f"{project.lock}, line 2" in str(caught.value)


def test_lock_of_the_wrong_shape_is_rejected(project: Project) -> None:
    project.lock.write_text('["not", "a", "mapping"]\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match="sources.lock.json"):
        read_lock(project.lock)


def test_unknown_dataset_lists_the_valid_ones(project: Project) -> None:
    with pytest.raises(ValueError, match="nope") as caught:
        fetch_source("nope", project.raw, project.lock, mirror=str(project.mirror), log=project.logs.append)
    for name in ("imdb", "giss", "cet"):
        assert name in str(caught.value)
    assert not project.raw.exists()


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
