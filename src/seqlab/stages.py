"""Data stages: fetch (or generate) raw data, validate it, prepare it for sequence models.

Each stage is a plain function of paths and validated params that writes its outputs atomically
and returns a plain dict (what it wrote, what it counted). The CLI, ``dvc repro`` and the Prefect
flows all call these same functions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.config import Params
from seqlab.data.cet import parse_cet_dat
from seqlab.data.giss import parse_giss_csv
from seqlab.data.imdb import Review, read_imdb
from seqlab.data.series_common import ParsedSeries
from seqlab.data.sources import FETCHED_DATASETS, fetch_source, read_lock, source_for
from seqlab.data.synthetic import make_synthetic_series
from seqlab.errors import DataFormatError
from seqlab.fileio import atomic_directory, atomic_open, save_arrays, sha256_file, write_json
from seqlab.paths import ProjectPaths
from seqlab.prep.series import make_split_windows
from seqlab.prep.text import LengthStats, encode, fit_vocabulary, pad

SYNTHETIC_FILE = "synthetic.csv"
Log = Callable[[str], None]


# --------------------------------------------------------------------------- raw data


def fetch(
    dataset: str,
    params: Params,
    paths: ProjectPaths,
    mirror: str | None = None,
    update: bool = False,
    log: Log = print,
) -> dict[str, Any]:
    """Fetch a dataset's raw file (or generate the synthetic series) into ``data/raw/<dataset>``."""
    if dataset == "synthetic":
        return generate_synthetic(params, paths, log=log)
    path = fetch_source(dataset, paths.raw, paths.lock, mirror=mirror, update=update, log=log)
    return {"dataset": dataset, "path": str(path), "sha256": sha256_file(path)}


def generate_synthetic(params: Params, paths: ProjectPaths, log: Log = print) -> dict[str, Any]:
    """Write the book's synthetic series as a raw CSV (time, value) so it is versioned like real data."""
    settings = params.synthetic
    series = make_synthetic_series(
        n_points=settings.n_points,
        baseline=settings.baseline,
        slope=settings.slope,
        amplitude=settings.amplitude,
        period=settings.period,
        noise_level=settings.noise_level,
        seed=settings.seed,
    )
    destination = paths.raw_dir("synthetic") / SYNTHETIC_FILE
    with atomic_open(destination) as handle:
        handle.write("time,value\n")
        # repr of a float32 round-trips exactly, so the prepared data equals the generated series.
        handle.writelines(f"{index},{value!r}\n" for index, value in enumerate(series.tolist()))
    log(f"synthetic: generated {series.size} points into {destination}")
    return {"dataset": "synthetic", "path": str(destination), "sha256": sha256_file(destination)}


def read_synthetic(path: str | Path) -> np.ndarray:
    """Read the generated synthetic CSV back as float32, strictly (time must be 0, 1, 2, …)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; run `seqlab fetch synthetic` (or `dvc repro`) first")
    try:
        frame = pd.read_csv(path, dtype={"time": "int64", "value": "float32"})
    except (ValueError, pd.errors.ParserError) as error:
        raise DataFormatError(path, f"not a time,value CSV: {error}") from error
    if list(frame.columns) != ["time", "value"] or frame.empty:
        raise DataFormatError(path, "expected the header 'time,value' and at least one row", line=1)
    expected_time = np.arange(len(frame))
    bad = np.flatnonzero(frame["time"].to_numpy() != expected_time)
    if bad.size:
        raise DataFormatError(path, f"time should be {bad[0]}", line=int(bad[0]) + 2)
    return frame["value"].to_numpy(dtype=np.float32)


def raw_file(dataset: str, paths: ProjectPaths) -> Path:
    """Path of a dataset's raw file, with a clear error when it has not been fetched yet."""
    name = SYNTHETIC_FILE if dataset == "synthetic" else source_for(dataset).filename
    path = paths.raw_dir(dataset) / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; run `seqlab fetch {dataset}` (or `dvc repro`) first")
    return path


def load_series(dataset: str, params: Params, paths: ProjectPaths) -> ParsedSeries | np.ndarray:
    """Parse a series dataset's raw file: a dated ParsedSeries, or the synthetic float32 array."""
    path = raw_file(dataset, paths)
    if dataset == "giss":
        return parse_giss_csv(path, gap_policy=params.giss.gap_policy)
    if dataset == "cet":
        return parse_cet_dat(path, gap_policy=params.cet.gap_policy)
    if dataset == "synthetic":
        return read_synthetic(path)
    raise ValueError(f"{dataset!r} is not a series dataset")


# --------------------------------------------------------------------------- describe


def describe(dataset: str, params: Params, paths: ProjectPaths) -> dict[str, Any]:
    """Summarise a raw dataset as a user wants it: counts, dates, missing values, source and sha256."""
    path = raw_file(dataset, paths)
    summary: dict[str, Any] = {
        "dataset": dataset,
        "source_file": str(path.relative_to(paths.root)) if path.is_relative_to(paths.root) else str(path),
        "sha256": sha256_file(path),
    }
    locked = read_lock(paths.lock).get(dataset)
    if locked:
        summary["sha256_matches_lock"] = locked.get("sha256") == summary["sha256"]
    if dataset == "imdb":
        reviews = read_imdb(path)
        counts: dict[str, dict[str, int]] = {}
        for review in reviews:
            per_split = counts.setdefault(review.split, {"pos": 0, "neg": 0, "total": 0})
            per_split["pos" if review.label == 1 else "neg"] += 1
            per_split["total"] += 1
        summary.update(
            valid_records=len(reviews),
            splits=counts,
            balanced=all(split["pos"] == split["neg"] for split in counts.values()),
            unique_texts=len({review.text for review in reviews}),
        )
        return summary
    loaded = load_series(dataset, params, paths)
    if isinstance(loaded, np.ndarray):
        summary.update(
            valid_records=int(loaded.size),
            first_index=0,
            last_index=int(loaded.size - 1),
            missing=0,
            dtype=str(loaded.dtype),
            mean=float(loaded.mean()),
            minimum=float(loaded.min()),
            maximum=float(loaded.max()),
        )
        return summary
    values = loaded.values
    date_format = "%Y-%m" if loaded.frequency == "MS" else "%Y-%m-%d"
    summary.update(
        valid_records=int(values.size),
        frequency="monthly" if loaded.frequency == "MS" else "daily",
        first_date=values.index[0].strftime(date_format),
        last_date=values.index[-1].strftime(date_format),
        missing=loaded.missing,
        filled_by_gap_policy=loaded.filled,
        mean=float(values.mean()),
        minimum=float(values.min()),
        maximum=float(values.max()),
        unit="°C",
    )
    return summary


def validate(dataset: str, params: Params, paths: ProjectPaths, log: Log = print) -> dict[str, Any]:
    """Parse the raw data strictly and record its summary (the pipeline's validate step).

    Any malformed line fails here with the file and line, before preparation starts; the summary is
    written to ``results/<dataset>/validate/summary.json`` (a DVC metrics file).
    """
    summary = describe(dataset, params, paths)
    if summary.get("sha256_matches_lock") is False:
        raise DataFormatError(
            raw_file(dataset, paths), "sha256 differs from data/sources.lock.json; run seqlab fetch again"
        )
    write_json(paths.root / "results" / dataset / "validate" / "summary.json", summary)
    log(f"{dataset}: valid, {summary['valid_records']} records")
    return summary


# --------------------------------------------------------------------------- prepare


def _array_record(array: np.ndarray) -> dict[str, Any]:
    contiguous = np.ascontiguousarray(array)
    return {
        "shape": list(contiguous.shape),
        "dtype": str(contiguous.dtype),
        "sha256": hashlib.sha256(contiguous.tobytes()).hexdigest(),
    }


def _length_record(stats: LengthStats) -> dict[str, Any]:
    return {
        "count": stats.count,
        "min": stats.minimum,
        "max": stats.maximum,
        "mean": round(stats.mean, 3),
        "median": stats.median,
        "truncated_fraction": round(stats.truncated_fraction, 5),
    }


def prepare(dataset: str, params: Params, paths: ProjectPaths, log: Log = print) -> dict[str, Any]:
    """Prepare one dataset into ``data/prepared/<dataset>/`` and return its manifest."""
    if dataset == "imdb":
        return prepare_imdb(params, paths, log=log)
    return prepare_series(dataset, params, paths, log=log)


def split_validation(reviews: list[Review], fraction: float, seed: int) -> tuple[list[Review], list[Review]]:
    """Carve a stratified, seeded validation set out of the training reviews."""
    from sklearn.model_selection import train_test_split

    fit, validation = train_test_split(
        reviews, test_size=fraction, random_state=seed, stratify=[review.label for review in reviews]
    )
    return list(fit), list(validation)


def take_subset(reviews: list[Review], per_split: int) -> list[Review]:
    """Keep the first ``per_split`` reviews of each split, half of each label (smoke runs)."""
    kept: list[Review] = []
    for split in sorted({review.split for review in reviews}):
        for label in (0, 1):
            matching = [review for review in reviews if review.split == split and review.label == label]
            kept.extend(matching[: per_split // 2])
    return kept


def prepare_imdb(params: Params, paths: ProjectPaths, log: Log = print) -> dict[str, Any]:
    """Tokenise and pad IMDB: vocabulary fitted on the training part only, validation carved from train."""
    settings = params.imdb
    source = raw_file("imdb", paths)
    reviews = read_imdb(source)
    if settings.subset is not None:
        reviews = take_subset(reviews, settings.subset)
    train = [review for review in reviews if review.split == "train"]
    test = [review for review in reviews if review.split == "test"]
    if not train or not test:
        raise DataFormatError(source, f"expected train and test reviews, got {len(train)} and {len(test)}")
    fit_part, validation_part = split_validation(train, settings.validation_fraction, settings.seed)
    log(f"imdb: fitting a {settings.max_tokens}-token vocabulary on {len(fit_part)} training reviews")
    vocabulary = fit_vocabulary([review.text for review in fit_part], settings.max_tokens)

    parts = {"train": fit_part, "validation": validation_part, "test": test}
    arrays: dict[str, np.ndarray] = {}
    lengths: dict[str, Any] = {}
    for name, part in parts.items():
        encoded = encode([review.text for review in part], vocabulary)
        x, mask = pad(encoded, settings.max_len, settings.padding, settings.truncating, settings.pad_value)
        arrays[f"x_{name}"] = x
        arrays[f"mask_{name}"] = mask
        arrays[f"y_{name}"] = np.array([review.label for review in part], dtype=np.int8)
        arrays[f"id_{name}"] = np.array([review.id for review in part], dtype=np.int32)
        sizes = np.fromiter((len(sequence) for sequence in encoded), dtype=np.int64, count=len(encoded))
        lengths[name] = _length_record(LengthStats.from_lengths(sizes, settings.max_len))
        log(f"imdb: encoded {len(part)} {name} reviews into {x.shape}")

    manifest: dict[str, Any] = {
        "dataset": "imdb",
        "source": {"file": source.name, "sha256": sha256_file(source)},
        "params": settings.model_dump(mode="json"),
        "counts": {
            name: {"total": len(part), "pos": sum(r.label for r in part)} for name, part in parts.items()
        },
        "vocabulary": {"size": len(vocabulary), "file": "vocabulary.txt", "fitted_on": "train"},
        "lengths_before_padding": lengths,
        "arrays": {name: _array_record(array) for name, array in arrays.items()},
    }
    with atomic_directory(paths.prepared_dir("imdb")) as folder:
        save_arrays(folder / "arrays.npz", arrays)
        (folder / "vocabulary.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
        texts = pd.DataFrame(
            {
                "split": [name for name, part in parts.items() for _ in part],
                "id": [review.id for part in parts.values() for review in part],
                "label": [review.label for part in parts.values() for review in part],
                "rating": [review.rating for part in parts.values() for review in part],
                "text": [review.text for part in parts.values() for review in part],
            }
        )
        texts.to_parquet(folder / "texts.parquet", index=False)
        manifest["arrays"]["texts.parquet"] = {
            "rows": len(texts),
            "sha256": sha256_file(folder / "texts.parquet"),
        }
        write_json(folder / "manifest.json", manifest)
    log(f"imdb: prepared into {paths.prepared_dir('imdb')}")
    return manifest


def prepare_series(dataset: str, params: Params, paths: ProjectPaths, log: Log = print) -> dict[str, Any]:
    """Cut the protocol's period, split by time, normalise on train only and window a series."""
    settings = params.series(dataset)
    source = raw_file(dataset, paths)
    loaded = load_series(dataset, params, paths)
    if isinstance(loaded, np.ndarray):
        values = loaded.astype(np.float64)
        dates: list[str] | None = None
        missing = filled = 0
    else:
        series = loaded.values
        start = pd.Timestamp(settings.start_date) if settings.start_date is not None else None
        end = pd.Timestamp(settings.end_date) if settings.end_date is not None else None
        series = series.loc[start:end]
        values = series.to_numpy(dtype=np.float64)
        date_format = "%Y-%m" if loaded.frequency == "MS" else "%Y-%m-%d"
        dates = [stamp.strftime(date_format) for stamp in series.index]
        missing, filled = loaded.missing, loaded.filled
    if settings.split_index >= values.size:
        raise ValueError(
            f"{dataset}.split_index: {settings.split_index} is not inside the series of {values.size} values"
        )
    windows = make_split_windows(
        values,
        split_index=settings.split_index,
        window_size=settings.window_size,
        horizon=settings.horizon,
        stride=settings.stride,
        validation_fraction=settings.validation_fraction,
    )
    arrays = {
        "x_train": windows.x_train,
        "y_train": windows.y_train,
        "x_validation": windows.x_validation,
        "y_validation": windows.y_validation,
        "x_test": windows.x_test,
        "y_test": windows.y_test,
        "train_target_index": windows.train_target_index,
        "validation_target_index": windows.validation_target_index,
        "test_target_index": windows.test_target_index,
        "values": values,
    }
    split = settings.split_index

    def period(start: int, end: int) -> dict[str, Any]:
        labels = dates if dates is not None else [str(index) for index in range(values.size)]
        return {"first": labels[start], "last": labels[end - 1], "count": end - start}

    manifest: dict[str, Any] = {
        "dataset": dataset,
        "source": {"file": source.name, "sha256": sha256_file(source)},
        "params": settings.model_dump(mode="json"),
        "series": {
            "count": int(values.size),
            "missing_in_raw": missing,
            "filled_by_gap_policy": filled,
            "train_period": period(0, split),
            "test_period": period(split, values.size),
        },
        "normalization": {**windows.normalizer.to_dict(), "fitted_on": "train_period"},
        "windows": {name: int(arrays[f"x_{name}"].shape[0]) for name in ("train", "validation", "test")},
        "arrays": {name: _array_record(array) for name, array in arrays.items()},
    }
    with atomic_directory(paths.prepared_dir(dataset)) as folder:
        save_arrays(folder / "windows.npz", arrays)
        if dates is not None:
            with atomic_open(folder / "dates.txt") as handle:
                handle.write("\n".join(dates) + "\n")
        write_json(folder / "manifest.json", manifest)
    log(
        f"{dataset}: {manifest['windows']} windows of {settings.window_size} → horizon {settings.horizon}, "
        f"normalised with mean {windows.normalizer.mean:.3f}, std {windows.normalizer.std:.3f}"
    )
    return manifest


__all__ = [
    "FETCHED_DATASETS",
    "describe",
    "fetch",
    "generate_synthetic",
    "load_series",
    "prepare",
    "prepare_imdb",
    "prepare_series",
    "raw_file",
    "read_synthetic",
]
