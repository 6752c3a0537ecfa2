"""The speed benchmark: its small helpers on hand-made inputs, and the --quick profile run for real."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # benchmarks/ is a top-level package beside src/, not installed
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import speed  # noqa: E402

PREPARED_FILES = (
    REPO_ROOT / "data" / "prepared" / "imdb" / "arrays.npz",
    REPO_ROOT / "data" / "prepared" / "imdb" / "texts.parquet",
    REPO_ROOT / "data" / "prepared" / "cet" / "windows.npz",
    REPO_ROOT / "data" / "prepared" / "cet" / "manifest.json",
)


def test_post_padded_lengths_counts_real_tokens_and_rejects_other_padding() -> None:
    x = np.array([[5, 3, 0, 0], [7, 1, 2, 9], [4, 0, 0, 0]], dtype=np.int32)
    assert speed.post_padded_lengths(x).tolist() == [2, 4, 1]
    with pytest.raises(ValueError, match="post-padded"):
        speed.post_padded_lengths(np.array([[0, 0, 5, 3]], dtype=np.int32))


def test_bucket_counts_follow_bucket_by_sequence_length_boundaries() -> None:
    boundaries = speed.bucket_boundaries(pad_to_boundary=False)
    assert boundaries[0] == 26 and boundaries[-1] == speed.IMDB_MAX_LEN + 1
    counts = speed._bucket_counts(np.array([1, 25, 26, 200]), boundaries)
    assert counts[0] == 2 and counts[1] == 1 and counts[len(boundaries) - 1] == 1
    assert counts.sum() == 4 and counts[len(boundaries)] == 0


def test_scaling_calls_linear_growth_linear() -> None:
    linear = speed._scaling([1000, 2000, 4000], [1.0, 2.0, 4.0])
    assert linear["verdict"] == "about linear"
    assert linear["slope_per_1000"] == pytest.approx(1.0)
    assert speed._scaling([1000, 2000, 4000], [1.0, 1.1, 1.2])["verdict"].startswith("sublinear")
    assert speed._scaling([1000, 2000, 4000], [1.0, 4.0, 16.0])["verdict"].startswith("superlinear")


def test_lever_config_lists_only_what_differs_from_plain() -> None:
    assert speed.LeverConfig("plain_b128", builder="plain").levers() == {}
    assert speed.LeverConfig("x", batch_size=256, bucketing=True).levers() == {
        "builder": "seqlab",
        "batch_size": 256,
        "bucketing": True,
    }
    assert speed.LeverConfig("x", threads=(1, 2)).levers() == {"builder": "seqlab", "threads": (1, 2)}


def test_scan_variants_are_named_by_what_they_change() -> None:
    base = speed.LeverConfig("seqlab_combined", batch_size=512, bucketing=True, jit_compile=True)
    assert speed._variant_name(base, True, (0, 0)) == "seqlab_combined"
    assert speed._variant_name(base, False, (0, 0)) == "seqlab_combined_no_xla"
    assert speed._variant_name(base, False, (1, 2)) == "seqlab_combined_no_xla_threads_1_2"
    assert speed._variant_name(speed.LeverConfig("b"), True, (2, 1)) == "b_xla_threads_2_1"
    assert speed._variant_name(base, True, (0, 0), 512) == "seqlab_combined"
    assert speed._variant_name(base, False, (1, 2), 256) == "seqlab_combined_b256_no_xla_threads_1_2"


def test_scan_tries_every_batch_size_that_gained_on_its_own_fastest_first() -> None:
    settings = speed.SpeedSettings.full()

    def timings(**seconds: float) -> dict[str, dict[str, float]]:
        return {f"seqlab_{name}": {"epoch_seconds": value} for name, value in seconds.items()}

    # 256 and 512 both beat 128 by more than imdb_min_gain; 256 by a hair more, which the combination
    # alone would take as the answer.
    assert speed.scan_batch_sizes(timings(b128=29.2, b256=26.2, b512=26.8), settings) == [256, 512]
    assert speed.scan_batch_sizes(timings(b128=29.2, b256=28.9, b512=26.8), settings) == [512]
    assert speed.scan_batch_sizes(timings(b128=29.2, b256=29.0, b512=30.0), settings) == [128]
    assert speed.scan_batch_sizes(timings(b128=29.2), settings) == [128]
    # The combination itself takes the fastest of them, or 128 when none gained.
    assert speed._combined_config(timings(b128=29.2, b256=26.2, b512=26.8), settings).batch_size == 256
    assert speed._combined_config(timings(b128=29.2, b256=29.0, b512=30.0), settings).batch_size == 128


def test_levers_are_picked_on_ratios_paired_by_round_not_on_medians() -> None:
    settings = speed.SpeedSettings.full()
    # The single levers' three interleaved rounds of a clean-clone run, in which round 2 was slow for all.
    rounds = {
        "seqlab_b128": [29.169, 36.667, 34.846],
        "seqlab_b256": [26.329, 29.856, 27.704],
        "seqlab_b512": [23.584, 30.306, 28.029],
        "seqlab_bucketed": [23.464, 25.866, 29.156],
        "seqlab_gru": [29.748, 30.906, 34.441],
        "seqlab_bf16": [28.491, 33.339, 33.814],
    }
    timings = {
        name: {"epoch_seconds": statistics.median(seconds), "round_epoch_seconds": seconds}
        for name, seconds in rounds.items()
    }
    # On medians GRU (30.9 s) and bfloat16 (33.3 s) both beat batch 128 (34.8 s) by more than 3%...
    base = timings["seqlab_b128"]["epoch_seconds"]
    assert timings["seqlab_gru"]["epoch_seconds"] < base * (1 - settings.imdb_min_gain)
    assert timings["seqlab_bf16"]["epoch_seconds"] < base * (1 - settings.imdb_min_gain)
    # ...but round by round GRU lost in round 1 and bfloat16 gained under 3% in two rounds of three.
    assert speed.paired_ratio(timings, "seqlab_gru") == pytest.approx(34.441 / 34.846)
    combined = speed._combined_config(timings, settings)
    assert (combined.cell, combined.bfloat16, combined.bucketing) == ("lstm", False, True)
    assert speed.scan_batch_sizes(timings, settings) == [512, 256]
    assert combined.batch_size == 512


def test_gaining_variants_are_the_fastest_that_beat_the_base() -> None:
    def variant(name: str, seconds: float) -> dict[str, object]:
        return {
            "name": name,
            "batch_size": 256,
            "jit_compile": False,
            "threads": [0, 0],
            "epoch_seconds": seconds,
        }

    base = variant("base", 10.0)
    variants = [base, variant("a", 9.8), variant("b", 8.0), variant("c", 9.0), variant("d", 7.5)]
    assert [f["name"] for f in speed.gaining_variants(variants, 0.03, 2)] == ["d", "b"]
    assert [f["name"] for f in speed.gaining_variants(variants, 0.15, 5)] == ["d", "b"]
    assert speed.gaining_variants([base, variant("slow", 12.0)], 0.03, 2) == []
    assert "epoch_seconds" not in speed.gaining_variants(variants, 0.03, 1)[0]


def test_pick_finalists_checks_fastest_first_and_keeps_one_passing_variant_per_xla_setting() -> None:
    def variant(name: str, jit_compile: bool, batch_size: int = 256) -> dict[str, object]:
        return {"name": name, "batch_size": batch_size, "jit_compile": jit_compile, "threads": [0, 0]}

    accuracy = {"xla": 0.84, "xla_2_1": 0.87, "xla_1_2": 0.88, "threads_1_2": 0.875, "threads_2_1": 0.9}
    calls: list[str] = []

    def check(candidate: dict[str, object]) -> tuple[bool, float]:
        calls.append(str(candidate["name"]))
        value = accuracy[str(candidate["name"])]
        return value >= 0.86, value

    gaining = [variant("xla", True), variant("xla_2_1", True), variant("xla_1_2", True)]
    gaining += [variant("threads_1_2", False), variant("threads_2_1", False)]
    checked, finalists = speed.pick_finalists(gaining, check, max_finalists=2, max_checks=4)
    # XLA failed and was passed over; XLA + (2, 1) passed, so XLA + (1, 2) was skipped unchecked.
    assert calls == ["xla", "xla_2_1", "threads_1_2"]
    assert [entry["passes"] for entry in checked] == [False, True, True]
    assert checked[0]["validation_accuracy"] == 0.84
    assert [finalist["name"] for finalist in finalists] == ["xla_2_1", "threads_1_2"]
    assert "passes" not in finalists[0]
    # The limits: one finalist, or two checks.
    calls.clear()
    assert [f["name"] for f in speed.pick_finalists(gaining, check, 1, 4)[1]] == ["xla_2_1"]
    assert calls == ["xla", "xla_2_1"]
    checked, finalists = speed.pick_finalists(gaining, check, 2, 1)
    assert [entry["name"] for entry in checked] == ["xla"] and finalists == []
    assert speed.pick_finalists([], check, 2, 4) == ([], [])
    # Batch size is a group of its own: a passing variant at another batch size is a finalist too.
    accuracy["b512_threads_1_2"] = 0.87
    calls.clear()
    gaining = [
        variant("threads_2_1", False),
        variant("threads_1_2", False),
        variant("b512_threads_1_2", False, 512),
    ]
    assert [f["name"] for f in speed.pick_finalists(gaining, check, 2, 4)[1]] == [
        "threads_2_1",
        "b512_threads_1_2",
    ]
    assert calls == ["threads_2_1", "b512_threads_1_2"]


@pytest.mark.data
@pytest.mark.slow
def test_quick_profile_runs_every_section_and_writes_json(tmp_path: Path) -> None:
    if not all(path.exists() for path in PREPARED_FILES):  # a clean clone: prepare them, as `make data` does
        for command in ("fetch", "prepare"):
            for dataset in ("imdb", "cet"):
                subprocess.run(
                    [str(Path(sys.executable).with_name("seqlab")), command, dataset],
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
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["mode"] == "quick"
    assert results["machine"]["tensorflow"] and results["machine"]["logical_cpus"] >= 1

    overhead = results["train_overhead"]
    assert overhead["train_overhead_ratio"] > 0
    assert results["train_overhead_ratio"] == overhead["train_overhead_ratio"]

    imdb = results["imdb_bilstm"]
    assert {"plain_b128", "seqlab_b128", "seqlab_bucketed", "seqlab_jit"} <= set(imdb["timings"])
    assert all(timing["epoch_seconds"] > 0 for timing in imdb["timings"].values())
    assert 0.0 <= imdb["accuracy"]["plain_b128"]["validation_accuracy"] <= 1.0
    assert imdb["best"]["config"] in imdb["timings"]
    # The ratios that chose the levers are reported, one per seqlab single, all positive.
    assert {"seqlab_bucketed", "seqlab_jit"} <= set(imdb["single_paired_ratios_vs_seqlab_b128"])
    assert all(ratio > 0 for ratio in imdb["single_paired_ratios_vs_seqlab_b128"].values())
    # Thread pools x XLA: every pool setting with XLA as in the combination and toggled; each non-default
    # pool setting ran in its own process, with the pools it asked for.
    scan = imdb["threads"]
    runs = scan["runs"]
    base_jit = imdb["combined_levers"].get("jit_compile", False)
    base_batch = imdb["combined_levers"].get("batch_size", 128)
    assert scan["batch_sizes"] == [base_batch]  # the quick profile times batch 128 only
    assert [(run["batch_size"], run["jit_compile"], run["intra_op"], run["inter_op"]) for run in runs] == [
        (base_batch, base_jit, 0, 0),
        (base_batch, base_jit, 1, 2),
        (base_batch, not base_jit, 0, 0),
        (base_batch, not base_jit, 1, 2),
    ]
    # The scan's workers run for minutes in the full profile: each reports when it ends.
    assert completed.stdout.count("speed: scan round") == len(runs)
    for run in runs:
        pools = (run["effective_intra_op"], run["effective_inter_op"])
        assert pools == (run["intra_op"], run["inter_op"])
        assert run["isolated_process"] == (pools != (0, 0))
        assert run["levers"].get("jit_compile", False) == run["jit_compile"]
    assert [variant["epoch_seconds"] for variant in scan["variants"]] == [
        run["epoch_seconds"] for run in runs
    ]
    # Every timed epoch ran in a process that had trained whole untimed epochs of its configuration:
    # a fresh process always first, the bench's own process the first time it timed a configuration.
    assert all(run["process_warm_up_seconds"] > 0 for run in runs if run["isolated_process"])
    plain_warm_ups = imdb["timings"]["plain_b128"]["round_process_warm_up_seconds"]
    assert plain_warm_ups[0] > 0 and plain_warm_ups[1:] == [None] * (len(plain_warm_ups) - 1)
    # The variants that gained on the subset were accuracy-checked fastest first, up to the limits,
    # skipping an XLA setting that had its finalist; the first to pass for each setting are the
    # finalists, each timed on the whole set.
    quick = speed.SpeedSettings.quick()
    checked = scan["checked"]
    gaining = [entry["name"] for entry in scan["gaining"]]
    assert [entry["name"] for entry in checked] == [
        name for name in gaining if name in {e["name"] for e in checked}
    ]
    assert len(checked) <= quick.scan_accuracy_checks
    bar = imdb["accuracy"]["plain_b128"]["validation_accuracy"] - quick.imdb_accuracy_tolerance
    for entry in checked:
        assert imdb["accuracy"][entry["name"]]["validation_accuracy"] == entry["validation_accuracy"]
        assert entry["passes"] == (entry["validation_accuracy"] >= bar)
    assert checked, "the quick profile's scan_min_gain makes every variant a candidate"
    keys = ("name", "batch_size", "jit_compile", "threads")
    passed = [{key: entry[key] for key in keys} for entry in checked if entry["passes"]]
    assert scan["finalists"] == passed[: quick.scan_finalists]
    groups = {(finalist["batch_size"], finalist["jit_compile"]) for finalist in scan["finalists"]}
    assert len(groups) == len(scan["finalists"])
    assert scan["best"] == (scan["finalists"][0] if scan["finalists"] else None)
    assert len(scan["configs"]) == len(scan["finalists"]) <= quick.scan_finalists
    # The best configuration passed the accuracy check (or is the reference itself).
    best = imdb["best"]
    assert best["config"] == "plain_b128" or best["validation_accuracy"] >= bar
    for name, finalist in zip(scan["configs"], scan["finalists"], strict=True):
        timed = imdb["timings"][name]
        assert timed["levers"].get("threads", [0, 0]) == finalist["threads"]
        assert timed["levers"].get("jit_compile", False) == finalist["jit_compile"]
        assert timed["levers"].get("batch_size", 128) == finalist["batch_size"]
        assert timed.get("isolated_process", False) == (finalist["threads"] != [0, 0])

    growth = results["growth"]
    for name in ("text_preparation", "series_preparation", "text_training_epoch", "series_training_epoch"):
        assert len(growth[name]["points"]) == len(growth["factors"]) == 3
        assert growth[name]["time_seconds"]["verdict"]
    # Series preparation always runs in its own process: the worker plumbing of the full run is exercised.
    assert all(point["isolated_process"] for point in growth["series_preparation"]["points"])
    preparation = results["data_preparation"]
    assert (
        preparation["imdb_tokenise_pad"]["reviews"] == 4 * speed.SpeedSettings.quick().text_prep_base_reviews
    )
    assert preparation["cet_parse"]["days"] > 90_000

    summary = results["summary"]
    for key in ("train_overhead_ratio", "imdb_plain_epoch_seconds", "imdb_best_epoch_seconds"):
        assert summary[key] > 0
