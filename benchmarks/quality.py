"""Quality benchmark: every model family beside the statistical baselines, on each dataset's fixed split.

Protocol (params.yaml ``benchmark``): for each dataset and each seed, the whole Prefect pipeline runs
with the ``full`` profile (tuning on train/validation only; the test split is read once, by the
evaluation), then every model family of ``benchmark.families`` is trained like the dropout variants
(same data, validation, early stopping, seed) at the tuned best's settings and scored on the same
test split. For IMDB, the families of ``benchmark.stack`` are also combined by a logistic regression
fitted on their validation predictions (``stacked_ensemble``). Nothing is chosen by a test score:
the tuned configuration is picked on validation loss, and "best" in the report is only the ranking of
what was scored. Small test sets (GISS, synthetic) report the mean ± std over the seeds.

Runs go to MLflow (the project's store unless ``MLFLOW_TRACKING_URI`` is set): the pipeline tree of
each seed, and each family fit as a ``variant`` child of that seed's pipeline run.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from seqlab.config import DATASETS, Params, load_params
from seqlab.models.builders import RECURRENT_FAMILIES
from seqlab.paths import ProjectPaths

REPO = Path(__file__).resolve().parents[1]
Log = Callable[[str], None]

# The reference numbers the issue quotes, and its targets (lower MAE / higher accuracy is better).
ANCHORS: dict[str, dict[str, float]] = {
    "synthetic": {"book DNN": 4.47, "book tuned CNN": 4.39, "differencing + moving average": 4.33},
    "cet": {"book SimpleRNN": 1.37, "persistence": 1.34, "climatology + AR on anomalies": 1.28},
    "giss": {"book bidirectional GRU": 1.44, "climatology + trend + AR(1)": 1.04},
    "imdb": {"seed BiLSTM": 0.89, "Keras example BiLSTM": 0.84, "NBSVM": 0.912, "best supervised CNN": 0.923},
}
TARGETS: dict[str, dict[str, float]] = {
    "synthetic": {"best": 4.20},
    "cet": {"best": 1.25},
    "giss": {"best": 1.00},
    "imdb": {"best": 0.920, "best_recurrent": 0.905},
}
NOISE_FLOOR_SYNTHETIC = 4.0


def make_workspace(destination: Path) -> Path:
    """A copy of the project's tracked files (no data, no results): the benchmark's own root.

    The benchmark never overwrites the results, caches or dvc.lock of the project it runs from.
    """
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if name == "dvc.lock":  # this checkout's own runs, not the project's (DVC refuses an ignored lock)
            continue
        source = REPO / name
        if source.is_file() and not name.startswith("benchmarks/"):
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def _metric(dataset: str) -> tuple[str, bool]:
    return ("test_accuracy", True) if dataset == "imdb" else ("test_mae", False)


def _family_runs(
    dataset: str,
    params: Params,
    root: Path,
    pipeline_run_id: str,
    seed: int,
    log: Log,
    limit: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Train and score every benchmark family at the tuned best's settings; log each to MLflow."""
    from seqlab import experiment, tracking

    paths = ProjectPaths.at(root)
    summary = json.loads((root / "results" / dataset / "train" / "summary.json").read_text())
    tuned = {k: v for k, v in summary["best_hyperparameters"].items() if k != "family"}
    tracker = tracking.Tracker(root)
    experiment_id = tracker.client.get_run(pipeline_run_id).info.experiment_id
    results: dict[str, dict[str, Any]] = {}
    families = list(params.benchmark.families.get(dataset, {}).items())[:limit]
    # A shortened (smoke) run stacks the members it trains, when there are two.
    trained = {name for name, _ in families}
    members = [name for name in params.benchmark.stack.get(dataset, []) if name in trained]
    stacked = set(members) if len(members) >= 2 else set()
    for name, spec in families:
        hyperparameters = {**tuned, "dropout": 0.0, "recurrent_dropout": 0.0, **spec}
        started = time.perf_counter()
        with tracker.run(
            experiment_id,
            f"family {name} (seed {seed})",
            "variant",
            parent_id=pipeline_run_id,
            tags={"seqlab.benchmark_family": name, "seqlab.seed": seed},
            params={**hyperparameters, "seed": seed},
        ) as run_id:
            record = experiment.fit_and_score(
                dataset,
                params,
                paths,
                hyperparameters,
                root / "results" / dataset / "benchmark" / name / f"seed{seed}",
                seed=seed,
                keep_probabilities=name in stacked,
            )
            tracker.log_history(run_id, record["history"])
            tracker.log_metrics(
                run_id,
                {"best_epoch": record["best_epoch"], **record["best_metrics"], **record["test"]},
            )
        record["seconds"] = round(time.perf_counter() - started, 1)
        results[name] = record
        metric, _ = _metric(dataset)
        log(
            f"{dataset} seed {seed}: family {name}: {metric}={record['test'][metric]:.4f} "
            f"({record['seconds']} s)"
        )
    if stacked:
        with tracker.run(
            experiment_id,
            f"family stacked_ensemble (seed {seed})",
            "variant",
            parent_id=pipeline_run_id,
            tags={"seqlab.benchmark_family": "stacked_ensemble", "seqlab.seed": seed},
            params={"family": "ensemble", "members": ",".join(members), "seed": seed},
        ) as run_id:
            record = stacked_ensemble(members, results, paths, seed)
            # the member weights beside the score, to compare in the MLflow UI
            weights = {f"weight_{name}": value for name, value in record["coefficients"].items()}
            cv = {"validation_cv_accuracy": record["validation_cv_accuracy"]}
            tracker.log_metrics(run_id, {**record["test"], **cv, **weights})
        results["stacked_ensemble"] = record
        log(
            f"{dataset} seed {seed}: stacked ensemble of {', '.join(members)}: "
            f"test_accuracy={record['test']['test_accuracy']:.4f} "
            f"(validation CV {record['validation_cv_accuracy']:.4f})"
        )
    return results


def stacked_ensemble(
    members: Sequence[str], records: dict[str, dict[str, Any]], paths: ProjectPaths, seed: int
) -> dict[str, Any]:
    """Stack IMDB families (their records kept probabilities): fitted on validation, scored on test.

    The combiner sees only the members' validation predictions (the split their early stopping also
    watched, carved from the training reviews); the test predictions are combined once, for the score.
    """
    from seqlab import evaluation
    from seqlab.experiment import load_text_data

    started = time.perf_counter()
    labels = load_text_data(paths).arrays
    ensemble = evaluation.stack_classifiers(
        {name: records[name]["probabilities"]["validation"] for name in members},
        labels["y_validation"],
        seed=seed,
    )
    test = ensemble.predict_proba({name: records[name]["probabilities"]["test"] for name in members})
    return {
        "hyperparameters": {
            "family": "ensemble",
            "members": list(members),
            "combiner": "scikit-learn LogisticRegression on the members' logits, fitted on validation",
        },
        "seed": seed,
        "coefficients": ensemble.coefficients,
        "intercept": ensemble.intercept,
        "validation_cv_accuracy": ensemble.cv_accuracy,
        "test": evaluation.classification_metrics(labels["y_test"], test),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _summarise(values: Sequence[float]) -> dict[str, Any]:
    return {
        "value": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "values": list(values),
    }


def aggregate(dataset: str, per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± std per model over seeds; the best model and the best recurrent model; the baselines."""
    metric, higher = _metric(dataset)
    models: dict[str, list[float]] = {}
    families: dict[str, str] = {}
    for seed_result in per_seed:
        evaluation = seed_result["evaluation"]
        tuned_family = seed_result["tuned_family"]
        for variant, values in evaluation["variants"].items():
            name = f"tuned {variant}"
            models.setdefault(name, []).append(values[metric])
            families[name] = tuned_family if len(per_seed) == 1 else families.get(name, tuned_family)
        for name, record in seed_result["families"].items():
            models.setdefault(f"family {name}", []).append(record["test"][metric])
            families[f"family {name}"] = record["hyperparameters"]["family"]
    summaries = {name: {**_summarise(values), "family": families[name]} for name, values in models.items()}

    def best_of(names: list[str]) -> dict[str, Any] | None:
        if not names:
            return None
        chosen = (max if higher else min)(names, key=lambda name: summaries[name]["value"])
        return {"model": chosen, **{k: summaries[chosen][k] for k in ("value", "std", "family")}}

    recurrent = [name for name in summaries if summaries[name]["family"] in RECURRENT_FAMILIES]
    baselines = {name: values[metric] for name, values in per_seed[0]["evaluation"]["baselines"].items()}
    best = best_of(list(summaries))
    best_recurrent = best_of(recurrent)
    targets = TARGETS[dataset]
    met = {}
    for key, target in targets.items():
        found = best if key == "best" else best_recurrent
        if found is not None:
            met[key] = bool(found["value"] >= target) if higher else bool(found["value"] <= target)
    return {
        "metric": metric,
        "higher_is_better": higher,
        "best": best,
        "best_recurrent": best_recurrent,
        "baselines": baselines,
        "best_baseline": (max if higher else min)(baselines.items(), key=lambda item: item[1])[0],
        "seeds": len(per_seed),
        "models": summaries,
        "anchors": ANCHORS[dataset],
        "targets": targets,
        "targets_met": met,
        "tuned_families": [seed_result["tuned_family"] for seed_result in per_seed],
        "seconds": round(sum(seed_result["seconds"] for seed_result in per_seed), 1),
    }


def run_quality(
    workspace: Path,
    datasets: Sequence[str] = DATASETS,
    profile: str | None = None,
    seeds_override: int | None = None,
    families_limit: int | None = None,
    log: Log = print,
) -> dict[str, Any]:
    """Run the protocol for each dataset in ``workspace`` (made with :func:`make_workspace`).

    ``profile``, ``seeds_override`` and ``families_limit`` shrink the protocol for a smoke test.
    """
    from flows.pipeline import dataset_pipeline

    base = load_params(workspace / "params.yaml")
    profile = profile or base.benchmark.profile
    quality: dict[str, Any] = {}
    for dataset in datasets:
        seeds = seeds_override or base.benchmark.seeds.get(dataset, 1)
        per_seed = []
        for offset in range(seeds):
            seed = 42 + offset
            overrides = [f"{dataset}.tuning.seed={seed}", f"{dataset}.training.seed={seed}"]
            params = load_params(workspace / "params.yaml", overrides, profile)
            started = time.perf_counter()
            summary = dataset_pipeline(dataset, profile, overrides, str(workspace))
            evaluation = json.loads(
                (workspace / "results" / dataset / "evaluate" / "metrics.json").read_text()
            )
            trained = json.loads((workspace / "results" / dataset / "train" / "summary.json").read_text())
            families = _family_runs(
                dataset, params, workspace, summary["mlflow_run_id"], seed, log, families_limit
            )
            per_seed.append(
                {
                    "seed": seed,
                    "evaluation": evaluation,
                    "tuned_family": trained["best_hyperparameters"]["family"],
                    "tuned_hyperparameters": trained["best_hyperparameters"],
                    "families": {
                        name: {k: v for k, v in r.items() if k not in ("history", "probabilities")}
                        for name, r in families.items()
                    },
                    "pipeline_run_id": summary["mlflow_run_id"],
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
        quality[dataset] = aggregate(dataset, per_seed)
        quality[dataset]["per_seed"] = per_seed
        log(f"{dataset}: best {quality[dataset]['best']}; best baseline {quality[dataset]['best_baseline']}")
    return quality
