"""Turn one benchmark run's measurements into benchmarks/results.json and BENCHMARKS.md."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from seqlab.fileio import atomic_open, write_json

ORDER = ("synthetic", "cet", "giss", "imdb")
PROTOCOLS = {
    "synthetic": "book ch. 10–11 series; train t < 1000 (last 10% of training windows = validation); "
    "forecast t = 1000…1460 one step ahead from the true previous 20 values",
    "cet": "daily, one day ahead; train on the first 80,000 days from 1772-01-01 (last 10% = validation), "
    "test on the next 10,663 (1991-01-13 … 2020-03-23)",
    "giss": "Seattle-Tacoma monthly, one month ahead; 1950–2019, test = last 48 months (split at 792; "
    "last 10% of training windows = validation)",
    "imdb": "25k train (20% carved out, stratified, for validation; vocabulary fitted on the rest) / "
    "25k test; no pretrained embeddings or external text",
}


def _value(entry: dict[str, Any] | None, metric: str) -> str:
    if not entry:
        return "–"
    scale = 100 if metric == "test_accuracy" else 1
    unit = "%" if metric == "test_accuracy" else ""
    text = f"{entry['value'] * scale:.2f}{unit}" if scale == 100 else f"{entry['value']:.3f}"
    if entry.get("std"):
        text += f" ± {entry['std'] * scale:.2f}" if scale == 100 else f" ± {entry['std']:.3f}"
    return text


def _named(entry: dict[str, Any] | None, metric: str) -> str:
    if not entry:
        return "–"
    return f"{entry['model']} ({entry['family']}) {_value(entry, metric)}"


def _number(value: float, metric: str) -> str:
    return f"{value * 100:.2f}%" if metric == "test_accuracy" else f"{value:.3f}"


def headline(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The results.json ``quality`` block in the shape the issue asks for, one row per dataset."""
    rows = []
    for dataset in ORDER:
        entry = results.get("quality", {}).get(dataset)
        if entry:
            rows.append({"dataset": dataset, **entry})
    return rows


def headline_table(results: dict[str, Any]) -> str:
    """Markdown: per dataset the best model, best recurrent model, best baseline, anchors and target."""
    lines = [
        "| dataset | metric | best model | best recurrent | best baseline | anchors | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in headline(results):
        metric = row["metric"]
        best, recurrent = row["best"], row["best_recurrent"]
        baseline = row["best_baseline"]
        anchors = ", ".join(f"{name} {_number(value, metric)}" for name, value in row["anchors"].items())
        targets = ", ".join(
            f"{'best' if key == 'best' else 'recurrent'} {'≥' if row['higher_is_better'] else '≤'} "
            f"{_number(value, metric)}"
            for key, value in row["targets"].items()
        )
        met = ", ".join(f"{key}: {'yes' if ok else 'no'}" for key, ok in row["targets_met"].items())
        lines.append(
            f"| {row['dataset']} | {metric} | {best['model']} ({best['family']}) {_value(best, metric)} | "
            f"{_named(recurrent, metric)} | "
            f"{baseline} {_number(row['baselines'][baseline], metric)} | {anchors} | {targets} | {met} |"
        )
    return "\n".join(lines)


def _models_table(entry: dict[str, Any]) -> str:
    metric = entry["metric"]
    rows = [
        (name, model["family"], model["value"], model["std"], "model")
        for name, model in entry["models"].items()
    ]
    rows += [(name, "statistical", value, 0.0, "baseline") for name, value in entry["baselines"].items()]
    rows.sort(key=lambda row: -row[2] if entry["higher_is_better"] else row[2])
    lines = [
        f"| model | family | {metric} (mean ± std over {entry['seeds']} seed(s)) | kind |",
        "| --- | --- | --- | --- |",
    ]
    for name, family, value, std, kind in rows:
        lines.append(f"| {name} | {family} | {_value({'value': value, 'std': std}, metric)} | {kind} |")
    return "\n".join(lines)


def speed_headline(results: dict[str, Any]) -> dict[str, Any]:
    """The results.json ``speed`` block: overhead ratio, BiLSTM epoch times, no-op rerun time."""
    details = results.get("speed_details", {})
    summary = details.get("summary", {})
    pipeline = results.get("pipeline", {})
    return {
        "train_overhead_ratio": summary.get("train_overhead_ratio"),
        "bilstm_epoch_seconds": summary.get("imdb_best_epoch_seconds"),
        "bilstm_best_levers": summary.get("imdb_best_levers"),
        "bilstm_validation_accuracy": summary.get("imdb_best_validation_accuracy"),
        "plain_keras_bilstm_epoch_seconds": summary.get("imdb_plain_epoch_seconds"),
        "plain_keras_bilstm_validation_accuracy": summary.get("imdb_plain_validation_accuracy"),
        "noop_rerun_seconds": pipeline.get("noop_rerun_flow_seconds"),
        "noop_rerun_seconds_with_process_start": pipeline.get("noop_rerun_seconds"),
        "dvc_repro_noop_seconds": pipeline.get("dvc_repro_noop_seconds"),
        "make_run_seconds": pipeline.get("first_run_seconds"),
        "make_run_peak_rss_mb": pipeline.get("first_run_peak_rss_mb"),
    }


def _speed_section(results: dict[str, Any]) -> str:
    speed = speed_headline(results)
    details = results.get("speed_details", {})
    machine = details.get("machine", {})
    lines = ["| measure | value |", "| --- | --- |"]
    labels = {
        "train_overhead_ratio": "training throughput, seqlab fit_model / plain model.fit (target ≥ 0.95)",
        "plain_keras_bilstm_epoch_seconds": "IMDB BiLSTM(64), 25k-review epoch, plain Keras, batch 128 (s)",
        "bilstm_epoch_seconds": "the same model, seqlab's fastest honest configuration (s; target ≤ 20)",
        "bilstm_best_levers": "levers of that configuration",
        "plain_keras_bilstm_validation_accuracy": "validation accuracy, plain reference",
        "bilstm_validation_accuracy": "validation accuracy, fastest configuration",
        "make_run_seconds": "the pipeline from a fresh copy (command below), wall time (s)",
        "make_run_peak_rss_mb": "its peak resident memory (MB)",
        "noop_rerun_seconds": "rerun, nothing changed: flow time after process start (s; target < 10)",
        "noop_rerun_seconds_with_process_start": "the same rerun, with process and server start (s)",
        "dvc_repro_noop_seconds": "`dvc repro` after it, nothing to do (s)",
    }
    for key, label in labels.items():
        value = speed.get(key)
        if value is not None:
            lines.append(f"| {label} | {value} |")
    text = "\n".join(lines)
    if machine:
        text += (
            f"\n\nMachine: {machine.get('cpu_model')}, {machine.get('usable_cpus')} usable cores, "
            f"{machine.get('memory_total_gb')} GB; TensorFlow {machine.get('tensorflow')}, Keras "
            f"{machine.get('keras')}. Absolute times are context only; ratios were measured side by side in "
            "the same run."
        )
    return text


def document(results: dict[str, Any]) -> str:
    """BENCHMARKS.md: headline, protocol, per-dataset tables, speed, how to reproduce."""
    runs = results.get("section_runs")
    if runs:
        # Sections measured by separate `python -m benchmarks.run --sections ...` runs, merged.
        generated = "Generated by `python -m benchmarks.run` in separate runs per section: " + "; ".join(
            f"{_run_label(run)} at commit {run['commit']}, started {run['started_at']}, {run['seconds']} s"
            for run in runs
        )
        generated += ". Every number below is what those runs measured on this machine; "
    else:
        generated = (
            f"Generated by `make bench`{_at_commit(results)} ({results.get('mode')} run started "
            f"{results.get('started_at')}, "
            f"{results.get('total_seconds')} s). Every number below is what that run measured on this "
            "machine; "
        )
    parts = [
        "# seqlab benchmarks",
        "",
        generated
        + "`benchmarks/results.json` holds them all. MLflow runs: `"
        + str(results.get("mlflow_tracking_uri"))
        + "` (`seqlab ui`).",
        "",
        "## Quality",
        "",
        headline_table(results),
        "",
        "### Protocol",
        "",
        "- The test split is read once, by the final scoring. Tuning (Keras Tuner) and early stopping see "
        "only "
        "train/validation; validation is carved from the training data; normalisation statistics and the "
        "vocabulary are fitted on training data only. No choice is made on a test score: the table ranks "
        "what "
        "was scored.",
        "- Per dataset and seed: the whole pipeline with the `full` profile of params.yaml (tuner search, "
        "then "
        "the best configuration retrained per dropout variant), then every model family of "
        "`benchmark.families` trained the same way at the tuned configuration's settings. Every baseline and "
        "every model is scored on the same split. Seeds: `benchmark.seeds` (3 where the test set is small).",
        "- IMDB also scores a stacked ensemble of the families in `benchmark.stack`: a logistic regression "
        "on their logits, fitted on their validation predictions only (cross-validated there), then applied "
        "once to their test predictions. It counts as a model, not as a recurrent one.",
        "- Baselines are fitted on training data only: persistence, seasonal naive, climatology (± linear "
        "trend), climatology + AR(p) on anomalies, differencing + moving average (series); tf-idf n-grams + "
        "logistic regression (IMDB).",
        "",
    ]
    for dataset in ORDER:
        entry = results.get("quality", {}).get(dataset)
        if not entry:
            continue
        parts += [
            f"### {dataset}",
            "",
            PROTOCOLS[dataset] + ".",
            f"Tuned families per seed: {', '.join(entry['tuned_families'])}; {entry['seconds']} s.",
            "",
            _models_table(entry),
            "",
        ]
    parts += ["## Speed and cost", "", _speed_section(results), ""]
    pipeline = results.get("pipeline")
    if pipeline:
        parts += [
            f"Pipeline measured from a fresh copy with `{pipeline['command']}` "
            f"(profile {pipeline['profile']}); "
            f"the rerun found {pipeline['noop_rerun_cached_steps']} steps cached.",
            "",
        ]
    details = results.get("speed_details", {})
    if details:
        parts += [
            "Full speed measurements (levers, preparation time and memory, growth at 1×/2×/4× data) are in "
            "`benchmarks/results.json` under `speed_details`.",
            "",
        ]
    notes = Path(__file__).with_name("notes.md")
    if notes.exists():
        parts += [notes.read_text(encoding="utf-8").strip(), ""]
    parts += [
        "## Reproduce",
        "",
        "```bash",
        "make bench   # = python -m benchmarks.run; rewrites this file and benchmarks/results.json",
        "python -m benchmarks.run --sections quality --datasets giss   # one part; keeps the other numbers",
        "python -m benchmarks.run --quick   # every code path in a few minutes, into benchmarks/work/",
        "```",
        "",
    ]
    return "\n".join(parts)


README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def readme_block(results: dict[str, Any]) -> str:
    """The README's headline: the quality table and the speed headline, from the same run."""
    speed = speed_headline(results)
    runs = results.get("section_runs")
    measured = (
        "Measured by `python -m benchmarks.run`, one run per section ("
        + "; ".join(f"{_run_label(run)}: {run['started_at']}" for run in runs)
        + ")"
        if runs
        else f"Measured by `make bench`{_at_commit(results)} ({results.get('started_at')})"
    )
    lines = [
        README_START,
        f"{measured}; details in [BENCHMARKS.md](BENCHMARKS.md).",
        "",
        headline_table(results),
        "",
        f"Training overhead vs plain Keras: {speed.get('train_overhead_ratio')}; IMDB BiLSTM epoch: "
        f"{speed.get('plain_keras_bilstm_epoch_seconds')} s plain → {speed.get('bilstm_epoch_seconds')} s; "
        f"no-op rerun: {speed.get('noop_rerun_seconds')} s after process start.",
        README_END,
    ]
    return "\n".join(lines)


def update_readme(results: dict[str, Any], readme: Path) -> bool:
    """Replace the README's block between the bench markers; False when the markers are absent."""
    if not readme.exists():
        return False
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        return False
    before, rest = text.split(README_START, 1)
    _, after = rest.split(README_END, 1)
    with atomic_open(readme) as handle:
        handle.write(before + readme_block(results) + after)
    return True


SECTION_KEYS = {
    "pipeline": ("pipeline",),
    "quality": ("quality", "quality_seconds", "quality_peak_rss_mb"),
    "speed": ("speed_details",),
}


def merge_previous(
    results: dict[str, Any], previous: dict[str, Any], sections: list[str], datasets: list[str], commit: str
) -> dict[str, Any]:
    """Merge a run of some sections (or some datasets) into the results.json of earlier runs.

    What this run measured replaces the earlier numbers and the rest is kept; ``section_runs`` says which
    run (commit, start, seconds) measured which sections and quality datasets, so the report names them.
    """
    merged = dict(results)
    # Each section run names its own commit below; one top-level commit would misname the kept sections.
    merged.pop("commit", None)
    for section, keys in SECTION_KEYS.items():
        if section not in sections:
            merged.update({key: previous[key] for key in keys if key in previous})
    # results.json keeps per-seed numbers apart (see write); rejoin them to the entries that are kept.
    kept = {
        dataset: {**entry, "per_seed": previous.get("quality_per_seed", {}).get(dataset)}
        for dataset, entry in previous.get("quality", {}).items()
        if "quality" not in sections or dataset not in datasets
    }
    if kept:
        merged["quality"] = {**kept, **results.get("quality", {})}
    earlier = previous.get("section_runs") or [
        {
            "sections": [name for name, keys in SECTION_KEYS.items() if keys[0] in previous],
            "datasets": sorted(previous.get("quality", {})),
            "commit": previous.get("commit", "unknown"),
            "started_at": previous.get("started_at"),
            "seconds": previous.get("total_seconds"),
        }
    ]
    runs = []
    for run in earlier:
        left_datasets = [name for name in run.get("datasets", []) if name not in datasets]
        left = [
            name for name in run["sections"] if name not in sections or (name == "quality" and left_datasets)
        ]
        if left:
            runs.append(
                {
                    **run,
                    "sections": left,
                    "datasets": left_datasets if "quality" in sections else run.get("datasets", []),
                }
            )
    this_run = {
        "sections": sections,
        "datasets": datasets if "quality" in sections else [],
        "commit": commit,
        "started_at": results.get("started_at"),
        "seconds": results.get("total_seconds"),
    }
    merged["section_runs"] = [*runs, this_run]
    return merged


def _at_commit(results: dict[str, Any]) -> str:
    """' at commit <hash>' for a run that recorded its commit (runs before 2026-12-02 did not), else ''."""
    commit = results.get("commit")
    return f" at commit {commit}" if commit else ""


def _run_label(run: dict[str, Any]) -> str:
    """Name a section run's sections, with the quality datasets it scored."""
    names = [
        f"quality ({', '.join(run['datasets'])})" if name == "quality" and run.get("datasets") else name
        for name in run["sections"]
    ]
    return ", ".join(names)


def write(
    results: dict[str, Any], results_path: Path, document_path: Path, readme: Path | None = None
) -> None:
    """Write results.json (the issue's schema plus details), the report and the README headline."""
    payload = {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **{key: value for key, value in results.items() if key != "quality"},
        "quality": {
            dataset: {key: value for key, value in entry.items() if key != "per_seed"}
            for dataset, entry in results.get("quality", {}).items()
        },
        "quality_per_seed": {
            dataset: entry.get("per_seed") for dataset, entry in results.get("quality", {}).items()
        },
        "speed": speed_headline(results),
    }
    write_json(results_path, payload)
    with atomic_open(document_path) as handle:
        handle.write(document(results))
    if readme is not None:
        update_readme(results, readme)


def main() -> int:
    """Rebuild BENCHMARKS.md and the README headline from benchmarks/results.json (no measuring)."""
    import json

    repo = Path(__file__).resolve().parents[1]
    payload = json.loads((repo / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    with atomic_open(repo / "BENCHMARKS.md") as handle:
        handle.write(document(payload))
    update_readme(payload, repo / "README.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
