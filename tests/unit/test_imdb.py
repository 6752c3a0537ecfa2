from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from seqlab.data.imdb import Review, read_imdb, replace_line_breaks, safe_extract
from seqlab.errors import DataFormatError

TREE: dict[str, bytes] = {
    "aclImdb/README": b"Large Movie Review Dataset v1.0\n",
    "aclImdb/imdb.vocab": b"the\nand\n",
    "aclImdb/imdbEr.txt": b"0.1\n0.2\n",
    "aclImdb/train/urls_pos.txt": b"http://www.imdb.com/title/tt0453418/usercomments\n",
    "aclImdb/train/labeledBow.feat": b"9 0:9 1:1\n",
    "aclImdb/train/pos/0_9.txt": b"Bromwell High is a cartoon comedy.<br /><br />It ran at the same time.",
    "aclImdb/train/pos/12_7.txt": "Caf\u00e9 scenes<BR>were lovely<br/>indeed.".encode(),
    "aclImdb/train/neg/3_1.txt": b"Awful. Simply awful.",
    "aclImdb/train/neg/10_4.txt": b"Not great <br /> not terrible.",
    "aclImdb/train/unsup/0_0.txt": b"An unlabelled review that must be ignored.",
    "aclImdb/train/unsup/5_0.txt": b"\xff\xfe not even utf-8, but unsup is ignored",
    "aclImdb/test/pos/2_10.txt": b"A masterpiece.",
    "aclImdb/test/neg/0_2.txt": b"Once again Mr. Costner has dragged out a movie.",
}

EXPECTED = [
    Review(text="Once again Mr. Costner has dragged out a movie.", label=0, split="test", rating=2, id=0),
    Review(text="A masterpiece.", label=1, split="test", rating=10, id=2),
    Review(text="Awful. Simply awful.", label=0, split="train", rating=1, id=3),
    Review(text="Not great not terrible.", label=0, split="train", rating=4, id=10),
    Review(
        text="Bromwell High is a cartoon comedy. It ran at the same time.",
        label=1,
        split="train",
        rating=9,
        id=0,
    ),
    Review(text="Caf\u00e9 scenes were lovely indeed.", label=1, split="train", rating=7, id=12),
]


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return root


def write_archive(path: Path, files: dict[str, bytes], extra: list[tarfile.TarInfo] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for info in extra or []:
            tar.addfile(info)
    return path


def link_member(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def with_changes(changes: dict[str, bytes | None]) -> dict[str, bytes]:
    files = dict(TREE)
    for name, content in changes.items():
        if content is None:
            files.pop(name)
        else:
            files[name] = content
    return files


# --- happy path ---------------------------------------------------------------------------------


def test_read_folder_gives_sorted_labelled_reviews(tmp_path: Path) -> None:
    write_folder(tmp_path, TREE)
    assert read_imdb(tmp_path) == EXPECTED


def test_read_folder_accepts_the_acl_imdb_folder_itself(tmp_path: Path) -> None:
    write_folder(tmp_path, TREE)
    assert read_imdb(tmp_path / "aclImdb") == EXPECTED


def test_read_archive_matches_folder(tmp_path: Path) -> None:
    write_folder(tmp_path / "tree", TREE)
    archive = write_archive(tmp_path / "imdb.tar.gz", TREE)
    from_archive = read_imdb(archive)
    assert from_archive == EXPECTED
    assert from_archive == read_imdb(tmp_path / "tree")


def test_read_plain_tar_archive(tmp_path: Path) -> None:
    archive = tmp_path / "imdb.tar"
    with tarfile.open(archive, "w") as tar:
        for name, content in TREE.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    assert read_imdb(str(archive)) == EXPECTED


def test_labels_splits_and_ratings(tmp_path: Path) -> None:
    reviews = read_imdb(write_archive(tmp_path / "imdb.tar.gz", TREE))
    for review in reviews:
        assert review.split in ("train", "test")
        if review.label == 1:
            assert 7 <= review.rating <= 10
        else:
            assert review.label == 0
            assert 1 <= review.rating <= 4
        assert "<br" not in review.text.lower()
    assert not any("unlabelled" in review.text for review in reviews)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a<br />b", "a b"),
        ("a<br/>b", "a b"),
        ("a<BR>b", "a b"),
        ("a <br /><br />  b", "a b"),
        ("a<Br  / >b", "a b"),
        ("no breaks here", "no breaks here"),
        ("<brother>", "<brother>"),
    ],
)
def test_replace_line_breaks(raw: str, expected: str) -> None:
    assert replace_line_breaks(raw) == expected


# --- error paths --------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["folder", "archive"])
@pytest.mark.parametrize(
    ("changes", "message", "names"),
    [
        ({"aclImdb/train/pos/7_8.txt": b"caf\xe9 latin-1"}, "not valid UTF-8", "7_8.txt"),
        ({"aclImdb/train/pos/review.txt": b"good"}, "bad file name", "review.txt"),
        ({"aclImdb/train/pos/7_8.text": b"good"}, "bad file name", "7_8.text"),
        ({"aclImdb/train/pos/7_3.txt": b"good"}, "rating 3 in a 'pos' folder", "7_3.txt"),
        ({"aclImdb/test/neg/7_8.txt": b"bad"}, "rating 8 in a 'neg' folder", "7_8.txt"),
        ({"aclImdb/test/neg/7_5.txt": b"meh"}, "rating 5 in a 'neg' folder", "7_5.txt"),
        ({"aclImdb/test/pos/7_11.txt": b"wow"}, "rating 11 in a 'pos' folder", "7_11.txt"),
        ({"aclImdb/test/neg/7_1.txt": b""}, "empty review text", "7_1.txt"),
        ({"aclImdb/test/neg/7_1.txt": b"  <br /><br /> "}, "empty review text", "7_1.txt"),
        ({"aclImdb/test/neg/0_3.txt": b"same id as 0_2"}, "duplicate review test/neg id 0", "0_3.txt"),
    ],
)
def test_bad_review_files_are_refused(
    tmp_path: Path, form: str, changes: dict[str, bytes], message: str, names: str
) -> None:
    files = with_changes(dict(changes))
    source = (
        write_folder(tmp_path / "tree", files)
        if form == "folder"
        else write_archive(tmp_path / "imdb.tar.gz", files)
    )
    with pytest.raises(DataFormatError, match=message) as caught:
        read_imdb(source)
    assert names in str(caught.value)


def test_duplicate_member_in_archive_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "imdb.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for content in (b"first", b"second"):
            info = tarfile.TarInfo("aclImdb/train/pos/1_8.txt")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    with pytest.raises(DataFormatError, match="duplicate review train/pos id 1"):
        read_imdb(archive)


@pytest.mark.parametrize("form", ["folder", "archive"])
def test_no_reviews_is_an_error(tmp_path: Path, form: str) -> None:
    files = {name: content for name, content in TREE.items() if "/pos/" not in name and "/neg/" not in name}
    source = (
        write_folder(tmp_path / "tree", files)
        if form == "folder"
        else write_archive(tmp_path / "imdb.tar.gz", files)
    )
    with pytest.raises(DataFormatError, match="no reviews found"):
        read_imdb(source)


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no reviews found"):
        read_imdb(tmp_path)


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such archive or folder"):
        read_imdb(tmp_path / "absent.tar.gz")


def test_not_a_tar_archive_is_an_error(tmp_path: Path) -> None:
    bogus = tmp_path / "imdb.tar.gz"
    bogus.write_bytes(b"this is not a tarball at all" * 20)
    with pytest.raises(DataFormatError, match="not a readable tar archive"):
        read_imdb(bogus)


UNSAFE_MEMBERS = {
    "parent": ({"../evil.txt": b"escape"}, [], "'..'", "../evil.txt"),
    "nested-parent": ({"aclImdb/train/pos/../../../evil.txt": b"escape"}, [], "'..'", "evil.txt"),
    "absolute": ({"/tmp/evil.txt": b"escape"}, [], "absolute path", "/tmp/evil.txt"),
    "symlink": (
        {},
        [link_member("aclImdb/train/pos/9_9.txt", tarfile.SYMTYPE, "/etc/passwd")],
        "symbolic link",
        "9_9.txt",
    ),
    "hardlink": (
        {},
        [link_member("aclImdb/train/pos/9_9.txt", tarfile.LNKTYPE, "aclImdb/train/pos/0_9.txt")],
        "hard link",
        "9_9.txt",
    ),
    "device": ({}, [link_member("aclImdb/dev", tarfile.CHRTYPE)], "device", "aclImdb/dev"),
    "fifo": ({}, [link_member("aclImdb/fifo", tarfile.FIFOTYPE)], "device or FIFO", "aclImdb/fifo"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE_MEMBERS))
def test_read_imdb_refuses_unsafe_members(tmp_path: Path, case: str) -> None:
    files, extra, message, name = UNSAFE_MEMBERS[case]
    archive = write_archive(tmp_path / "imdb.tar.gz", {**TREE, **files}, extra)
    with pytest.raises(DataFormatError, match=message) as caught:
        read_imdb(archive)
    assert name in str(caught.value)
    assert "refusing member" in str(caught.value)


# --- safe_extract -------------------------------------------------------------------------------


def test_safe_extract_writes_all_files(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "imdb.tar.gz", TREE)
    destination = tmp_path / "out" / "extracted"
    extracted = safe_extract(archive, destination)
    assert extracted == sorted(destination / name for name in TREE)
    for name, content in TREE.items():
        assert (destination / name).read_bytes() == content
    assert read_imdb(destination) == EXPECTED
    assert sorted(path.name for path in destination.parent.iterdir()) == ["extracted"]


def test_safe_extract_into_empty_existing_folder(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "imdb.tar.gz", TREE)
    destination = tmp_path / "out"
    destination.mkdir()
    safe_extract(str(archive), str(destination))
    assert (destination / "aclImdb" / "README").read_bytes() == TREE["aclImdb/README"]


def test_safe_extract_refuses_non_empty_destination(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "imdb.tar.gz", TREE)
    destination = tmp_path / "out"
    destination.mkdir()
    (destination / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not an empty folder"):
        safe_extract(archive, destination)
    assert [path.name for path in destination.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("case", sorted(UNSAFE_MEMBERS))
def test_safe_extract_refuses_unsafe_members_and_writes_nothing(tmp_path: Path, case: str) -> None:
    files, extra, message, name = UNSAFE_MEMBERS[case]
    archive = write_archive(tmp_path / "archive" / "imdb.tar.gz", {**TREE, **files}, extra)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    destination = workspace / "extracted"
    with pytest.raises(ValueError, match=message) as caught:
        safe_extract(archive, destination)
    assert name in str(caught.value)
    assert not destination.exists()
    assert list(workspace.iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["archive", "workspace"]


def test_write_archive_helper_makes_the_members_it_says(tmp_path: Path) -> None:
    archive = write_archive(
        tmp_path / "x.tar.gz", {"../evil.txt": b"x"}, [link_member("l", tarfile.SYMTYPE, "/")]
    )
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    assert [member.name for member in members] == ["../evil.txt", "l"]
    assert members[1].issym()


def test_safe_extract_data_filter_is_a_second_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import seqlab.data.imdb as imdb

    monkeypatch.setattr(imdb, "_unsafe_reason", lambda member: None)
    archive = write_archive(
        tmp_path / "archive" / "imdb.tar.gz",
        TREE,
        [link_member("aclImdb/escape", tarfile.SYMTYPE, "/etc/passwd")],
    )
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    with pytest.raises(ValueError, match="aclImdb/escape"):
        safe_extract(archive, workspace / "extracted")
    assert list(workspace.iterdir()) == []
