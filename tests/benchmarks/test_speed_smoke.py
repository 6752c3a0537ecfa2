"""The speed benchmark: its helpers on hand-made inputs, the committed report, and the --quick profile run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # benchmarks/ is a top-level package beside src/, not installed
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import report, speed  # noqa: E402

COMMITTED = REPO_ROOT / "benchmarks" / "results.json"
PREPARED_FILES = (
    REPO_ROOT / "data" / "prepared" / "imdb" / "arrays.npz",
    REPO_ROOT / "data" / "prepared" / "imdb" / "texts.parquet",
    REPO_ROOT / "data" / "prepared" / "cet" / "windows.npz",
    REPO_ROOT / "data" / "prepared" / "cet" / "manifest.json",
)


def test_longer_prepared_reviews_are_cut_as_if_prepared_at_the_protocols_length() -> None:
    from seqlab.prep.text import pad

    rng = np.random.default_rng(0)
    reviews = [rng.integers(2, 50, size=length) for length in (0, 5, speed.MAX_LEN, speed.MAX_LEN + 37, 390)]
    for padding in ("post", "pre"):
        for truncating in ("pre", "post"):
            long = pad(reviews, 400, padding, truncating)[0]
            expected = pad(reviews, speed.MAX_LEN, padding, truncating)[0]
            np.testing.assert_array_equal(speed.cut_to_max_len(long, padding, truncating), expected)
    with pytest.raises(ValueError, match="fewer than 200"):
        speed.cut_to_max_len(np.ones((2, 50), dtype=np.int32), "post", "pre")


def test_scaling_calls_linear_growth_linear() -> None:
    linear = speed._scaling([1000, 2000, 4000], [1.0, 2.0, 4.0])
    assert linear["verdict"] == "about linear"
    assert linear["slope_per_1000"] == pytest.approx(1.0)
    assert speed._scaling([1000, 2000, 4000], [1.0, 1.1, 1.2])["verdict"].startswith("sublinear")
    assert speed._scaling([1000, 2000, 4000], [1.0, 4.0, 16.0])["verdict"].startswith("superlinear")


def test_the_timed_configurations_are_plain_keras_seqlab_and_the_one_the_last_scan_chose() -> None:
    assert speed.PLAIN.levers() == {}
    assert speed.SEQLAB.levers() == {"builder": "seqlab"}
    chosen = {"batch_size": 512, "bucketing": True, "builder": "seqlab", "threads": [1, 2]}
    assert speed.CHOSEN.levers() == chosen and list(speed.CHOSEN.levers()) == sorted(chosen)
    # The configuration the committed results name (the last scan's pick) is the one timed now.
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert speed.CHOSEN.levers() == committed["speed"]["bilstm_best_levers"]


def test_prepared_data_is_read_by_the_two_loaders_without_the_test_split(tmp_path: Path) -> None:
    imdb, cet = tmp_path / "data" / "prepared" / "imdb", tmp_path / "data" / "prepared" / "cet"
    imdb.mkdir(parents=True)
    cet.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="seqlab stage prepare --dataset imdb"):
        speed.imdb_arrays(tmp_path)
    x = np.ones((4, speed.MAX_LEN), dtype=np.int32)
    labels = np.array([0, 1, 0, 1], dtype=np.int8)
    np.savez(imdb / "arrays.npz", x_train=x, y_train=labels, x_validation=x, y_validation=labels, x_test=x)
    arrays = speed.imdb_arrays(tmp_path)
    assert sorted(arrays) == ["x_train", "x_validation", "y_train", "y_validation"]
    assert arrays["y_train"].dtype == np.float32
    windows = {
        f"{side}_{part}": np.zeros((3, 5)) for side in "xy" for part in ("train", "validation", "test")
    }
    np.savez(cet / "windows.npz", values=np.arange(100.0), **windows)
    protocol = {"split_index": 80, "window_size": 5, "horizon": 1, "stride": 1, "validation_fraction": 0.1}
    # split_index moved from the manifest's params to beside them with the params.yaml of 2026-12-02.
    moved = {key: value for key, value in protocol.items() if key != "split_index"}
    for manifest in ({"params": protocol}, {"split_index": 80, "params": moved}):
        (cet / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        series = speed.cet_series(tmp_path)
        assert series["protocol"] == protocol
        assert "x_test" not in series and series["x_train"].dtype == np.float32


def test_the_committed_results_still_render_their_speed_section() -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    speed_block = report.speed_headline(committed)
    document = report.document(committed)
    # Every number the committed speed block holds is still shown (the new runs' keys are added to it).
    assert {key for key, value in committed["speed"].items() if value is not None} <= set(report.SPEED_LABELS)
    for key, value in committed["speed"].items():
        assert speed_block[key] == value
        if key == "bilstm_best_levers":
            continue
        label = report.SPEED_LABELS[key]
        row = next(line for line in document.splitlines() if line.startswith(f"| {label} | "))
        if isinstance(value, dict):  # e.g. growth exponents: "name value" pairs, in the run's order
            assert all(f"{name} {number}" in row for name, number in value.items()), row
        else:
            assert row == f"| {label} | {value} |"
    assert f"{speed_block['noop_rerun_seconds']} s after process start" in report.readme_block(committed)


@pytest.mark.data
@pytest.mark.slow
def test_quick_profile_records_every_measurement(tmp_path: Path) -> None:
    if not all(path.exists() for path in PREPARED_FILES):  # a clean clone: prepare them, as `make data` does
        # (IMDB: 1,200 reviews per split, more than the quick profile reads; make bench prepares all)
        subset = ["--param", "defaults.aclimdb.prepare.subset=1200"]
        for command in (["fetch"], [*subset, "stage", "prepare", "--dataset"]):
            for dataset in ("imdb", "cet"):
                subprocess.run(
                    [str(Path(sys.executable).with_name("seqlab")), *command, dataset],
                    cwd=REPO_ROOT,
                    check=True,
                    capture_output=True,
                    timeout=600,
                )
    output = tmp_path / "speed.json"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.speed", "--quick", "--output", str(output)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,  # about 3 min on 2 shared cores
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(output.read_text(encoding="utf-8"))
    quick = speed.SpeedSettings.quick()
    assert results["mode"] == "quick" and results["machine"]["tensorflow"]

    overhead = results["train_overhead"]
    assert len(overhead["plain_seconds"]) == len(overhead["seqlab_seconds"]) == quick.overhead_repeats
    assert results["summary"]["train_overhead_ratio"] == overhead["train_overhead_ratio"] > 0

    imdb = results["imdb_bilstm"]
    assert list(imdb["timings"]) == ["plain_b128", "seqlab_b128", "seqlab_chosen"]
    for name, timing in imdb["timings"].items():
        rounds = timing["rounds"]
        assert len(rounds) == quick.imdb_rounds and timing["epoch_seconds"] > 0
        assert completed.stdout.count(f"round 1 {name}:") == 1  # each round logs its timing
        for run in rounds:  # the kept epoch is the fastest attempt; a contended first one was re-taken
            assert run["epoch_seconds"] == min(attempt["seconds"] for attempt in run["attempts"])
            contended = run["attempts"][0]["foreign_cpu_share"] > speed.CONTENTION_LIMIT
            assert len(run["attempts"]) == 1 + contended
        # Every timed epoch ran in a process that had trained whole untimed epochs of its configuration:
        # the chosen one, with its own thread pools, in a fresh process each round.
        chosen = name == "seqlab_chosen"
        assert all(run["isolated_process"] == chosen for run in rounds)
        assert all(run["threads"] == ([1, 2] if chosen else [0, 0]) for run in rounds)
        assert rounds[0]["process_warm_up_seconds"] > 0
        assert all((run["process_warm_up_seconds"] is not None) == chosen for run in rounds[1:])
    accuracy = imdb["accuracy"]
    assert sorted(accuracy) == ["plain_b128", "seqlab_chosen"]
    assert all(0.0 <= entry["validation_accuracy"] <= 1.0 for entry in accuracy.values())
    assert all(entry["train_reviews"] == quick.imdb_reviews for entry in accuracy.values())
    bar = accuracy["plain_b128"]["validation_accuracy"] - quick.imdb_accuracy_tolerance
    assert imdb["chosen"]["within_tolerance"] == (imdb["chosen"]["validation_accuracy"] >= bar)

    growth = results["growth"]
    for name, (_, unit) in speed.GROWTH.items():
        points = growth[name]["points"]
        assert [point[unit] for point in points][1:] == [2 * points[0][unit], 4 * points[0][unit]]
        assert all(point["seconds"] > 0 and point["peak_memory_increase_mb"] >= 0 for point in points)
        assert growth[name]["time_seconds"]["verdict"]
    # Series preparation always runs in its own process: the worker plumbing of the full run is exercised.
    assert all(point["isolated_process"] for point in growth["series_preparation"]["points"])
    # Preparation: the 4x text point (all 50k reviews in a full run) and the 1x series point.
    text, series = growth["text_preparation"]["points"][-1], growth["series_preparation"]["points"][0]
    assert text["reviews"] == 4 * quick.text_prep_reviews and series["days"] == quick.series_prep_days
    assert series["windows"] > 0 and results["summary"]["imdb_tokenise_pad_seconds"] == text["seconds"]

    # Everything the report shows of the speed section was recorded.
    headline = report.speed_headline({"speed_details": results})
    for key in (
        "train_overhead_ratio",
        "plain_keras_bilstm_epoch_seconds",
        "seqlab_b128_bilstm_epoch_seconds",
        "bilstm_epoch_seconds",
        "bilstm_best_levers",
        "plain_keras_bilstm_validation_accuracy",
        "bilstm_validation_accuracy",
        "imdb_preparation_seconds",
        "imdb_preparation_peak_increase_mb",
        "growth_time_exponents",
    ):
        assert headline[key] is not None, key
    assert headline["bilstm_best_levers"] == speed.CHOSEN.levers()
    assert set(headline["growth_time_exponents"]) == set(speed.GROWTH)
    assert set(report.SPEED_LABELS) == set(headline)  # every number of the speed block has its row
