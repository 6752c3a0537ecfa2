"""What a pipeline execution leaves in MLflow, built from the files its stages wrote.

One experiment per dataset (``seqlab-<dataset>``); one parent run per pipeline execution with
nested children for each baseline, tuner trial and dropout variant, every run tagged
``seqlab.kind``. Both entry points record through these functions, from the same stage files: the
Prefect flow step by step as its stages finish, ``dvc repro`` in its ``register`` stage. So the two
leave the same records, and a cached (skipped) step is recorded exactly like a fresh one.
MLflow itself is only touched through :class:`seqlab.tracking.Tracker`.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seqlab.config import Params
from seqlab.experiment import load_series_data, load_text_data, model_inputs, results_dir
from seqlab.fileio import read_yaml, write_json
from seqlab.paths import ProjectPaths
from seqlab.tracking import Tracker

Log = Callable[[str], None]
TEST_METRICS = {
    "regression": ("test_mae", "test_rmse", "test_mae_normalized"),
    "classification": ("test_accuracy", "test_auc", "test_f1"),
}


@dataclass
class PipelineRun:
    """An open parent run and the ids of the children recorded under it so far."""

    tracker: Tracker
    dataset: str
    experiment_id: str
    run_id: str
    variant_runs: dict[str, str] = field(default_factory=dict)


def experiment_name(dataset: str, params: Params) -> str:
    """Experiment of a dataset, named like its registered model (``seqlab-<dataset>``)."""
    return f"{params.pipeline.registered_model_prefix}{dataset}"


def params_sha256(dataset: str, params: Params) -> str:
    """Hash of the dataset's effective params section (after profile and overrides)."""
    section = getattr(params, dataset).model_dump(mode="json")
    return hashlib.sha256(json.dumps(section, sort_keys=True).encode()).hexdigest()


def git_commit(root: Path) -> str:
    """Return the checked-out commit (``-dirty`` if tracked files differ; ``unknown`` outside git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def dvc_data_hashes(dataset: str, paths: ProjectPaths) -> dict[str, str]:
    """DVC's recorded hashes of the dataset's raw and prepared data, read from dvc.lock (if present)."""
    lock_file = paths.root / "dvc.lock"
    if not lock_file.exists():
        return {}
    lock = read_yaml(lock_file) or {}
    wanted = {f"data/raw/{dataset}", f"data/prepared/{dataset}"}
    hashes: dict[str, str] = {}
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if out.get("path") in wanted and out.get("md5"):
                hashes[f"seqlab.dvc.{out['path']}"] = str(out["md5"])
    return hashes


def _manifest_sha256(dataset: str, paths: ProjectPaths) -> str:
    manifest = paths.prepared_dir(dataset) / "manifest.json"
    if not manifest.exists():
        return "missing"
    return hashlib.sha256(manifest.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- parent run


def start_pipeline(
    dataset: str,
    params: Params,
    paths: ProjectPaths,
    entry_point: str,
    flow_run_id: str | None = None,
    tracker: Tracker | None = None,
) -> PipelineRun:
    """Close runs left RUNNING by an interrupted pipeline, then open this execution's parent run."""
    tracker = tracker or Tracker(paths.root)
    experiment = tracker.experiment(experiment_name(dataset, params))
    tracker.close_stale_runs(experiment)
    tags = {
        "seqlab.dataset": dataset,
        "seqlab.entry_point": entry_point,
        "seqlab.profile": params.profile,
        "seqlab.git_commit": git_commit(paths.root),
        "seqlab.params_sha256": params_sha256(dataset, params),
        "seqlab.prefect_flow_run_id": flow_run_id or "",
        # Under dvc repro, dvc.lock already describes this run's data; the flow adds them once it
        # has committed its outputs (finish_pipeline), never from a lock another run left.
        **(dvc_data_hashes(dataset, paths) if entry_point == "dvc" else {}),
    }
    section = getattr(params, dataset).model_dump(mode="json")
    run_id = tracker.start_run(
        experiment,
        f"{dataset} pipeline ({params.profile})",
        "pipeline",
        tags=tags,
        params={"profile": params.profile, **section},
    )
    return PipelineRun(tracker=tracker, dataset=dataset, experiment_id=experiment, run_id=run_id)


def finish_pipeline(
    run: PipelineRun, error: BaseException | None = None, step: str | None = None, dvc_committed: bool = False
) -> None:
    """End the parent run: FINISHED, or FAILED naming the step that raised.

    ``dvc_committed``: the outputs were just recorded in dvc.lock, so tag the data's DVC hashes.
    """
    if error is not None and step:
        run.tracker.set_tags(run.run_id, {"seqlab.failed_step": step})
    paths = ProjectPaths.at(run.tracker.root)
    # the data this run used, whichever entry point prepared it
    run.tracker.set_tags(
        run.run_id, {"seqlab.prepared_manifest_sha256": _manifest_sha256(run.dataset, paths)}
    )
    if dvc_committed:
        run.tracker.set_tags(run.run_id, dvc_data_hashes(run.dataset, paths))
    run.tracker.finish(run.run_id, error)


# --------------------------------------------------------------------------- children


def _read(path: Path) -> Any:
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; run the stage that writes it first")
    return json.loads(path.read_text(encoding="utf-8"))


def _best_index(values: list[float], direction: str) -> int | None:
    finite = [(value, index) for index, value in enumerate(values) if math.isfinite(value)]
    if not finite:
        return None
    return min(finite, key=lambda item: (item[0] if direction == "min" else -item[0], item[1]))[1]


def record_baselines(run: PipelineRun, params: Params, paths: ProjectPaths) -> dict[str, str]:
    """One ``baseline`` child per statistical baseline, with its test metrics."""
    dataset = run.dataset
    metrics = _read(results_dir(paths, dataset, "baselines") / "metrics.json")
    if dataset == "imdb":
        settings: dict[str, Any] = {"max_features": params.imdb.baseline_max_features}
    else:
        window = params.series(dataset)
        settings = {"period": window.period, "ar_order": window.ar_order, "split_index": window.split_index}
    ids: dict[str, str] = {}
    for name, values in metrics.items():
        with run.tracker.run(
            run.experiment_id,
            f"baseline {name}",
            "baseline",
            parent_id=run.run_id,
            params={"model": name, **settings},
        ) as child:
            run.tracker.log_metrics(child, values)
        ids[name] = child
    return ids


def record_trials(run: PipelineRun, params: Params, paths: ProjectPaths) -> dict[str, str]:
    """One ``trial`` child per tuner trial: hyperparameters, per-epoch curves, best-epoch summary."""
    dataset = run.dataset
    payload = _read(results_dir(paths, dataset, "tune") / "trials.json")
    settings = params.imdb.tuning if dataset == "imdb" else params.series(dataset).tuning
    objective, direction = payload["objective"], payload["direction"]
    best_id = (payload.get("best") or {}).get("trial_id")
    ids: dict[str, str] = {}
    for trial in payload["trials"]:
        child = run.tracker.start_run(
            run.experiment_id,
            f"trial {trial['trial_id']}",
            "trial",
            parent_id=run.run_id,
            tags={
                "seqlab.trial_id": trial["trial_id"],
                "seqlab.trial_status": trial["status"],
                "seqlab.best_trial": str(trial["trial_id"] == best_id).lower(),
                "seqlab.objective": f"{objective} ({direction})",
            },
            params={
                **trial["hyperparameters"],
                "algorithm": settings.algorithm,
                "epochs": settings.epochs,
                "batch_size": settings.batch_size,
            },
        )
        history = trial.get("history") or {}
        run.tracker.log_history(child, history)
        index = _best_index(history.get(objective, []), direction)
        if index is not None:
            run.tracker.log_metrics(
                child,
                {"best_epoch": index + 1, **{name: values[index] for name, values in history.items()}},
            )
        if trial.get("score") is not None:
            run.tracker.log_metrics(child, {"score": trial["score"]})
        failed = trial["status"] not in ("COMPLETED",)
        run.tracker.finish(child, trial.get("message") or trial["status"] if failed else None)
        ids[str(trial["trial_id"])] = child
    return ids


def record_variants(run: PipelineRun, params: Params, paths: ProjectPaths) -> dict[str, str]:
    """One ``variant`` child per dropout variant: hyperparameters, curves, best epoch, test metrics."""
    dataset = run.dataset
    summary = _read(results_dir(paths, dataset, "train") / "summary.json")
    evaluation = _read(results_dir(paths, dataset, "evaluate") / "metrics.json")
    settings = params.imdb.training if dataset == "imdb" else params.series(dataset).training
    plots_dir = results_dir(paths, dataset, "evaluate") / "plots"
    for name, record in summary["variants"].items():
        with run.tracker.run(
            run.experiment_id,
            f"variant {name}",
            "variant",
            parent_id=run.run_id,
            tags={
                "seqlab.variant": name,
                "seqlab.best_variant": str(name == evaluation["best_variant"]["name"]).lower(),
                # a variant whose settings make the same model as another is trained once
                **({"seqlab.same_as": record["same_as"]} if "same_as" in record else {}),
            },
            params={
                **record["hyperparameters"],
                "epochs": settings.epochs,
                "batch_size": settings.batch_size,
                "patience": settings.patience,
                "seed": settings.seed,
            },
        ) as child:
            run.tracker.log_history(child, record["history"])
            run.tracker.log_metrics(
                child,
                {
                    "best_epoch": record["best_epoch"],
                    "epochs_run": record["epochs_run"],
                    **record["best_metrics"],
                    **evaluation["variants"][name],
                },
            )
            variant_dir = results_dir(paths, dataset, "train") / name
            run.tracker.log_artifact(child, variant_dir / "model.keras", "keras")
            run.tracker.log_artifact(child, variant_dir / "fit.json")
            run.tracker.log_artifact(child, plots_dir / f"learning_curves_{name}.png", "plots")
        run.variant_runs[name] = child
    return dict(run.variant_runs)


def record_evaluation(run: PipelineRun, params: Params, paths: ProjectPaths) -> None:
    """Summarise on the parent: the best variant's test metrics beside the best baseline's, artifacts."""
    dataset = run.dataset
    evaluate_dir = results_dir(paths, dataset, "evaluate")
    evaluation = _read(evaluate_dir / "metrics.json")
    metric = evaluation["metric"]
    best = evaluation["best_variant"]
    kind = "classification" if dataset == "imdb" else "regression"
    baseline_name = evaluation["best_baseline"]["name"]
    baseline = evaluation["baselines"][baseline_name]
    run.tracker.log_metrics(
        run.run_id,
        {
            **{name: best[name] for name in TEST_METRICS[kind] if name in best},
            **{f"best_baseline_{name}": baseline[name] for name in TEST_METRICS[kind] if name in baseline},
            "skill_vs_best_baseline": best.get("skill_vs_best_baseline", float("nan")),
        },
    )
    run.tracker.set_tags(
        run.run_id,
        {
            "seqlab.metric": metric,
            "seqlab.best_variant": best["name"],
            "seqlab.best_baseline": baseline_name,
            "seqlab.test_data_sha256": evaluation["test_data_sha256"],
        },
    )
    for name in ("leaderboard.csv", "leaderboard.md", "metrics.json", "learning_curves.csv"):
        run.tracker.log_artifact(run.run_id, evaluate_dir / name, "evaluation")
    run.tracker.log_artifact(run.run_id, evaluate_dir / "plots", "plots")
    run.tracker.log_artifact(run.run_id, results_dir(paths, dataset, "tune") / "trials.json", "tuning")
    prepared = paths.prepared_dir(dataset)
    run.tracker.log_artifact(run.run_id, prepared / "manifest.json", "data")
    if dataset == "imdb":
        run.tracker.log_artifact(run.run_id, prepared / "vocabulary.txt", "data")
    else:
        manifest = _read(prepared / "manifest.json")
        run.tracker.log_text(
            run.run_id, json.dumps(manifest["normalization"], indent=2), "data/normalization.json"
        )
    effective = {dataset: getattr(params, dataset).model_dump(mode="json"), "profile": params.profile}
    run.tracker.log_text(run.run_id, yaml.safe_dump(effective, sort_keys=False), "params.yaml")


# --------------------------------------------------------------------------- registry


def _input_example(dataset: str, paths: ProjectPaths, hyperparameters: dict[str, Any]) -> Any:
    if dataset == "imdb":
        return load_text_data(paths).arrays["x_test"][:5].astype("int32")
    return model_inputs(load_series_data(dataset, paths).inputs("test")[:5], hyperparameters)


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("tensorflow", "keras", "numpy")]


def register_best(run: PipelineRun, params: Params, paths: ProjectPaths, log: Log = print) -> dict[str, Any]:
    """Register the best variant as ``seqlab-<dataset>``; move ``champion`` only if it wins fairly.

    The alias moves when there is no champion yet, or when the champion was scored on the same test
    data (same fingerprint) and the new model is strictly better. A champion scored on different test
    data is kept: the two numbers are not comparable. The decision is written to
    ``results/<dataset>/register/registry.json`` and tagged on the new version.
    """
    import keras

    import seqlab.models  # noqa: F401  (custom layers of saved models)

    dataset = run.dataset
    evaluation = _read(results_dir(paths, dataset, "evaluate") / "metrics.json")
    summary = _read(results_dir(paths, dataset, "train") / "summary.json")
    metric, higher = evaluation["metric"], bool(evaluation["higher_is_better"])
    best = evaluation["best_variant"]
    name, value, test_hash = best["name"], float(best[metric]), evaluation["test_data_sha256"]
    variant_run = run.variant_runs.get(name)
    if variant_run is None:
        raise ValueError(f"{dataset}: variant {name!r} has no recorded run; record the variants first")
    hyperparameters = summary["variants"][name]["hyperparameters"]
    model = keras.models.load_model(results_dir(paths, dataset, "train") / name / "model.keras")
    model_uri = run.tracker.log_keras_model(
        variant_run, model, _input_example(dataset, paths, hyperparameters), _pip_requirements()
    )
    registered = f"{params.pipeline.registered_model_prefix}{dataset}"
    alias = params.pipeline.champion_alias
    version = run.tracker.register(
        registered,
        model_uri,
        variant_run,
        tags={
            "seqlab.metric": metric,
            "seqlab.value": repr(value),
            "seqlab.higher_is_better": str(higher).lower(),
            "seqlab.test_data_sha256": test_hash,
            "seqlab.pipeline_run_id": run.run_id,
            "seqlab.variant": name,
        },
        description=f"Best seqlab model of {dataset}, scored by {metric} on its test split.",
    )
    current = run.tracker.alias_version(registered, alias)
    if current is None:
        moved, decision = True, f"first {alias}"
    else:
        current_version, tags = current
        current_value = float(tags.get("seqlab.value", "nan"))
        if tags.get("seqlab.test_data_sha256") != test_hash:
            moved = False
            decision = (
                f"kept v{current_version}: it was scored on different test data, so "
                f"{metric} {value:.4g} and {current_value:.4g} are not comparable"
            )
        elif (value > current_value) if higher else (value < current_value):
            moved, decision = True, f"beats v{current_version}: {metric} {value:.4g} vs {current_value:.4g}"
        else:
            moved = False
            decision = f"kept v{current_version}: {metric} {value:.4g} does not beat {current_value:.4g}"
    if moved:
        run.tracker.set_alias(registered, alias, version)
    run.tracker.set_version_tags(registered, version, {"seqlab.champion_decision": decision})
    champion = version if moved else current[0] if current else version
    run.tracker.set_tags(
        run.run_id,
        {
            "seqlab.registered_model": registered,
            "seqlab.registered_version": version,
            "seqlab.champion_version": champion,
        },
    )
    result = {
        "registered_model": registered,
        "version": version,
        "variant": name,
        "metric": metric,
        "value": value,
        "test_data_sha256": test_hash,
        "alias": alias,
        "champion_version": champion,
        "champion_moved": moved,
        "decision": decision,
        "pipeline_run_id": run.run_id,
        "model_uri": model_uri,
    }
    write_json(results_dir(paths, dataset, "register") / "registry.json", result)
    log(f"{dataset}: registered {registered} v{version}; {alias}: {decision}")
    return result


# --------------------------------------------------------------------------- entry points

RECORDERS: dict[str, Callable[[PipelineRun, Params, ProjectPaths], Any]] = {
    "baselines": record_baselines,
    "tune": record_trials,
}


def record_stage(run: PipelineRun, stage: str, params: Params, paths: ProjectPaths, log: Log = print) -> Any:
    """Record what ``stage`` wrote (stages that leave nothing to record return None)."""
    if stage in RECORDERS:
        return RECORDERS[stage](run, params, paths)
    if stage == "evaluate":
        ids = record_variants(run, params, paths)
        record_evaluation(run, params, paths)
        return ids
    if stage == "register":
        return register_best(run, params, paths, log=log)
    return None


def record_pipeline(
    dataset: str, params: Params, paths: ProjectPaths, entry_point: str = "dvc", log: Log = print
) -> dict[str, Any]:
    """Record a whole finished pipeline from its files and register it (``dvc repro``'s last stage)."""
    run = start_pipeline(dataset, params, paths, entry_point)
    step = "record"
    try:
        for step in ("baselines", "tune", "evaluate"):
            record_stage(run, step, params, paths)
        step = "register"
        result = register_best(run, params, paths, log=log)
    except BaseException as error:
        finish_pipeline(run, error, step)
        raise
    finish_pipeline(run)
    return result


def record_failure(
    dataset: str, params: Params, paths: ProjectPaths, step: str, error: BaseException, entry_point: str
) -> str:
    """Leave a FAILED pipeline run naming the step that raised (a ``seqlab stage`` run outside a flow)."""
    run = start_pipeline(dataset, params, paths, entry_point)
    finish_pipeline(run, error, step)
    return run.run_id
