"""Strict reader for the IMDB Large Movie Review Dataset (``aclImdb`` layout) and a safe tar extractor.

Layout: ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt``, one UTF-8 review per file, next to
files the reader ignores (``README``, ``imdb.vocab``, ``imdbEr.txt``, ``urls_*.txt``, ``*.feat``) and
the unlabelled ``train/unsup`` folder, which is ignored too.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from seqlab.errors import DataFormatError

SPLITS: tuple[str, ...] = ("train", "test")
LABELS: dict[str, int] = {"neg": 0, "pos": 1}
ROOT_FOLDER = "aclImdb"

_FILE_NAME = re.compile(r"(\d+)_(\d+)\.txt")
# A run of HTML line breaks (<br />, <br/>, <br>, any case) and the whitespace after them.
# Spelled without IGNORECASE and starting with a literal "<" so the regex engine can scan fast.
_LINE_BREAKS = re.compile(r"<[bB][rR]\s*/?\s*>(?:\s*<[bB][rR]\s*/?\s*>)*\s*")
_DRIVE = re.compile(r"[A-Za-z]:")


@dataclass(frozen=True)
class Review:
    """One labelled review: ``label`` is 1 for ``pos`` and 0 for ``neg``."""

    text: str
    label: int
    split: str
    rating: int
    id: int


def read_imdb(path: str | Path) -> list[Review]:
    """Read every labelled review of an aclImdb archive or folder, so the data is checked once, up front.

    ``path`` is a ``.tar``/``.tar.gz`` archive (streamed, never extracted) or a folder: the ``aclImdb``
    folder itself or one that contains it. Reviews come back sorted by (split, label, id).
    """
    source = Path(path)
    if source.is_dir():
        reviews = _read_folder(source)
    elif source.is_file():
        reviews = _read_archive(source)
    else:
        raise FileNotFoundError(f"{source}: no such archive or folder")
    if not reviews:
        raise DataFormatError(
            source,
            "no reviews found; expected files aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt",
        )
    seen: dict[tuple[str, int, int], str] = {}
    for review, where in reviews:
        key = (review.split, review.label, review.id)
        if key in seen:
            raise DataFormatError(
                source,
                f"duplicate review {review.split}/{_label_name(review.label)} id {review.id}: "
                f"{seen[key]} and {where}",
            )
        seen[key] = where
    return sorted((review for review, _ in reviews), key=lambda r: (r.split, r.label, r.id))


def safe_extract(archive: str | Path, destination: str | Path) -> list[Path]:
    """Extract a tar archive only if every member stays inside ``destination``, so nothing is half-written.

    All members are checked before anything is written; the archive is extracted into a temporary folder
    beside ``destination`` (with tarfile's ``data`` filter as a second guard) and renamed into place.
    ``destination`` must not exist or be an empty folder. Returns the extracted files, sorted.
    """
    archive_path = Path(archive)
    target = Path(destination)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target}: destination exists and is not an empty folder")
    try:
        with tarfile.open(archive_path, mode="r:*") as tar:
            members = tar.getmembers()
            for member in members:
                problem = _unsafe_reason(member)
                if problem is not None:
                    raise ValueError(f"{archive_path}: refusing member {member.name!r}: {problem}")
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
            try:
                try:
                    tar.extractall(staging, members=members, filter="data")
                except tarfile.FilterError as error:
                    raise ValueError(
                        f"{archive_path}: refusing member {error.tarinfo.name!r}: {error}"
                    ) from error
                if target.exists():
                    target.rmdir()
                staging.rename(target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except tarfile.ReadError as error:
        raise DataFormatError(archive_path, f"not a readable tar archive: {error}") from error
    return sorted(file for file in target.rglob("*") if file.is_file())


def replace_line_breaks(text: str) -> str:
    """Turn each run of HTML line breaks (and whitespace around it) into one space so words stay apart."""
    pieces = _LINE_BREAKS.split(text)
    if len(pieces) == 1:
        return text
    last = len(pieces) - 1
    return " ".join(piece if index == last else piece.rstrip() for index, piece in enumerate(pieces))


def _unsafe_reason(member: tarfile.TarInfo) -> str | None:
    """Say why a member could write outside the destination (or is not a plain file/folder), else None."""
    name = member.name
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "absolute path"
    if ".." in name.replace("\\", "/").split("/"):
        return "path contains '..'"
    if member.issym():
        return f"symbolic link to {member.linkname!r}"
    if member.islnk():
        return f"hard link to {member.linkname!r}"
    if member.isdev():
        return "device or FIFO"
    if not (member.isfile() or member.isdir()):
        return "not a regular file or folder"
    return None


def _label_name(label: int) -> str:
    return "pos" if label == 1 else "neg"


def _review_location(parts: tuple[str, ...]) -> tuple[str, str, str] | None:
    """Return (split, label folder, file name) when ``parts`` (below aclImdb) name a labelled review."""
    if len(parts) == 3 and parts[0] in SPLITS and parts[1] in LABELS:
        return parts[0], parts[1], parts[2]
    return None


def _parse_review(
    raw: bytes, split: str, label_name: str, file_name: str, where: Path, member: str
) -> Review:
    """Validate one review file's name and bytes and build its record; ``member`` prefixes messages."""
    match = _FILE_NAME.fullmatch(file_name)
    if match is None:
        raise DataFormatError(where, f"{member}bad file name {file_name!r}; expected <id>_<rating>.txt")
    review_id, rating = int(match.group(1)), int(match.group(2))
    if label_name == "pos" and not 7 <= rating <= 10:
        raise DataFormatError(
            where, f"{member}rating {rating} in a 'pos' folder; positive reviews are rated 7-10"
        )
    if label_name == "neg" and not 1 <= rating <= 4:
        raise DataFormatError(
            where, f"{member}rating {rating} in a 'neg' folder; negative reviews are rated 1-4"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataFormatError(
            where, f"{member}not valid UTF-8 at byte {error.start}: {error.reason}"
        ) from error
    text = replace_line_breaks(text)
    if not text.strip():
        raise DataFormatError(where, f"{member}empty review text")
    return Review(text=text, label=LABELS[label_name], split=split, rating=rating, id=review_id)


def _archive_members(
    tar: tarfile.TarFile, archive: Path
) -> Iterator[tuple[tarfile.TarInfo, tuple[str, ...]]]:
    """Yield each member with its path parts below ``aclImdb``, refusing unsafe members."""
    for member in tar:
        problem = _unsafe_reason(member)
        if problem is not None:
            raise DataFormatError(archive, f"refusing member {member.name!r}: {problem}")
        parts = tuple(part for part in member.name.split("/") if part not in ("", "."))
        if parts and parts[0] == ROOT_FOLDER:
            parts = parts[1:]
        yield member, parts


def _read_archive(archive: Path) -> list[tuple[Review, str]]:
    """Stream the archive member by member (no extraction) and parse the labelled reviews."""
    reviews: list[tuple[Review, str]] = []
    try:
        with tarfile.open(archive, mode="r|*") as tar:
            for member, parts in _archive_members(tar, archive):
                location = _review_location(parts)
                if location is None or not member.isfile():
                    continue
                handle = tar.extractfile(member)
                if handle is None:  # pragma: no cover - isfile() members always have data
                    continue
                split, label_name, file_name = location
                review = _parse_review(
                    handle.read(), split, label_name, file_name, archive, f"member {member.name}: "
                )
                reviews.append((review, member.name))
    except tarfile.ReadError as error:
        raise DataFormatError(archive, f"not a readable tar archive: {error}") from error
    return reviews


def _read_folder(folder: Path) -> list[tuple[Review, str]]:
    """Parse the labelled reviews below ``folder`` (the aclImdb folder or one containing it)."""
    root = folder / ROOT_FOLDER if (folder / ROOT_FOLDER).is_dir() else folder
    reviews: list[tuple[Review, str]] = []
    for split in SPLITS:
        for label_name in LABELS:
            label_folder = root / split / label_name
            if not label_folder.is_dir():
                continue
            with os.scandir(label_folder) as entries:
                for entry in entries:
                    if not entry.is_file():
                        continue
                    file_path = Path(entry.path)
                    review = _parse_review(
                        file_path.read_bytes(), split, label_name, entry.name, file_path, ""
                    )
                    reviews.append((review, str(file_path)))
    return reviews
