"""Data stages: fetch (or generate) a dataset's raw files, validate them, prepare them for models.

Which files, which parser and which preparation come from the registry (:mod:`seqlab.datasets`) and
the dataset's modality (:mod:`seqlab.modalities`); nothing here knows a dataset by name. Outputs are
written whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seqlab.data.sources import fetch_files, read_lock
from seqlab.datasets import DatasetConfig
from seqlab.errors import DataFormatError
from seqlab.fileio import atomic_directory, sha256_file, write_json
from seqlab.modalities import modality
from seqlab.paths import ProjectPaths

Log = Callable[[str], None]


def fetch(
    dataset: DatasetConfig,
    paths: ProjectPaths,
    mirror: str | None = None,
    update: bool = False,
    log: Log = print,
    allow_shrink: bool = False,
) -> dict[str, Any]:
    """Fetch a dataset's raw files (or generate them) into ``data/raw/<dataset>/``, verified.

    ``update`` takes revised files (recording their sha256 and record counts); ``allow_shrink``
    lets it take one with fewer records than the lock records.
    """
    kind, raw_dir = dataset.kind, paths.raw_dir(dataset.name)
    if kind.generated:
        written = kind.generate(dataset, raw_dir)
        log(f"{dataset.name}: generated {', '.join(str(path) for path in written)}")
    else:
        sources = kind.source_files(dataset, paths.root)
        written = fetch_files(
            dataset.name,
            sources,
            raw_dir,
            paths.lock,
            mirror=mirror,
            update=update,
            log=log,
            allow_shrink=allow_shrink,
        )
    return {"dataset": dataset.name, "files": {path.name: sha256_file(path) for path in written}}


def describe(dataset: DatasetConfig, paths: ProjectPaths, parsed: Any = None) -> dict[str, Any]:
    """Summarise a raw dataset as a user wants it: counts, dates, missing values, files and sha256."""
    raw_dir = paths.raw_dir(dataset.name)
    parsed = dataset.kind.read(dataset, raw_dir) if parsed is None else parsed
    files = sorted(path for path in raw_dir.iterdir() if path.is_file()) if raw_dir.is_dir() else []
    hashes = {path.name: sha256_file(path) for path in files}
    summary: dict[str, Any] = {
        "dataset": dataset.name,
        "kind": dataset.source.kind,
        "source_folder": str(raw_dir.relative_to(paths.root))
        if raw_dir.is_relative_to(paths.root)
        else str(raw_dir),
        "files": hashes,
    }
    locked = read_lock(paths.lock).get(dataset.name)
    if locked:
        summary["sha256_matches_lock"] = {name: entry["sha256"] for name, entry in locked.items()} == hashes
    summary.update(modality(dataset).describe(dataset, parsed))
    return summary


def validate(dataset: DatasetConfig, paths: ProjectPaths, log: Log = print) -> dict[str, Any]:
    """Parse the raw data strictly, check the protocol fits it, and record its summary.

    Any malformed line fails here with the file and line, and a test period the data cannot hold
    fails naming the key, before preparation starts; the summary is written to
    ``results/<dataset>/validate/summary.json``.
    """
    parsed = dataset.kind.read(dataset, paths.raw_dir(dataset.name))
    summary = describe(dataset, paths, parsed)
    if summary.get("sha256_matches_lock") is False:
        raise DataFormatError(
            paths.raw_dir(dataset.name),
            f"the files differ from what {paths.lock.name} records; run `seqlab fetch {dataset.name}` again",
        )
    modality(dataset).check(dataset, parsed)
    write_json(paths.results_dir(dataset.name, "validate") / "summary.json", summary)
    log(f"{dataset.name}: valid, {summary['valid_records']} records")
    return summary


def prepare(dataset: DatasetConfig, paths: ProjectPaths, log: Log = print) -> dict[str, Any]:
    """Prepare one dataset into ``data/prepared/<dataset>/`` (replaced whole) and return its manifest."""
    parsed = dataset.kind.read(dataset, paths.raw_dir(dataset.name))
    with atomic_directory(paths.prepared_dir(dataset.name)) as folder:
        manifest = modality(dataset).prepare(dataset, parsed, folder, log)
    log(f"{dataset.name}: prepared into {paths.prepared_dir(dataset.name)}")
    return manifest
