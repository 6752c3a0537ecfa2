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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seqlab.artifacts import Evaluation, SearchResult, TrainSummary, read_baseline_metrics
from seqlab.config import Params
from seqlab.families import applicable, model_label
from seqlab.fileio import read_dvc_lock_stages, write_json
from seqlab.modalities import modality, read_manifest
from seqlab.paths import ProjectPaths
from seqlab.registry import Champion, Score, decide_champion, format_value, gap, registers_combination
from seqlab.stages import STAGES
from seqlab.tracking import Tracker

Log = Callable[[str], None]
NOTE_TAG = "mlflow.note.content"  # the run's description in the MLflow UI (markdown)


@dataclass
class PipelineRun:
    """An open parent run and the ids of the children recorded under it so far."""

    tracker: Tracker
    dataset: str
    experiment_id: str
    run_id: str
    variant_runs: dict[str, str] = field(default_factory=dict)
    reused: dict[str, str] = field(default_factory=dict)  # step → the run that produced its outputs


def experiment_name(dataset: str, params: Params) -> str:
    """Experiment of a dataset, named like its registered model (``seqlab-<dataset>``)."""
    return f"{params.pipeline.registered_model_prefix}{dataset}"


def params_sha256(dataset: str, params: Params) -> str:
    """Hash of the dataset's effective configuration (after defaults, profile and overrides)."""
    section = params.dataset(dataset).model_dump(mode="json")
    return hashlib.sha256(json.dumps(section, sort_keys=True).encode()).hexdigest()


# What a pipeline writes into tracked files (committed after a run): not an input, so not "dirty".
RUN_OUTPUTS: tuple[str, ...] = (":(exclude)dvc.lock", ":(exclude)results")
SOURCE_DIFF = "source.diff"  # the uncommitted changes of tracked inputs a run was made with


def _git(root: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=root, capture_output=True, text=True, check=True, timeout=30
    ).stdout


def git_commit(root: Path) -> str:
    """Return the checked-out commit (``-dirty`` if tracked inputs differ; ``unknown`` outside git).

    dvc.lock and results/ are the pipeline's own outputs (a `dvc repro` rewrites them before the run
    is recorded), so they do not make a checkout dirty.
    """
    try:
        commit = _git(root, "rev-parse", "HEAD").strip()
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no", "--", ".", *RUN_OUTPUTS).strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def git_diff(root: Path) -> str:
    """Return the uncommitted changes of tracked inputs (what ``-dirty`` means) as a patch."""
    try:
        return _git(root, "diff", "--binary", "HEAD", "--", ".", *RUN_OUTPUTS)
    except (OSError, subprocess.SubprocessError):
        return ""


def dvc_data_hashes(dataset: str, paths: ProjectPaths) -> dict[str, str]:
    """DVC's recorded hashes of the dataset's raw and prepared data, read from dvc.lock (if present)."""
    lock_file = paths.root / "dvc.lock"
    wanted = {f"data/raw/{dataset}", f"data/prepared/{dataset}"}
    hashes: dict[str, str] = {}
    for stage in read_dvc_lock_stages(lock_file).values():
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
        "seqlab.overrides": json.dumps(list(params.overrides)),
        "seqlab.git_commit": git_commit(paths.root),
        "seqlab.params_sha256": params_sha256(dataset, params),
        "seqlab.prefect_flow_run_id": flow_run_id or "",
        # Under dvc repro, dvc.lock already describes this run's data; the flow adds them once it
        # has committed its outputs (finish_pipeline), never from a lock another run left.
        **(dvc_data_hashes(dataset, paths) if entry_point == "dvc" else {}),
    }
    section = params.dataset(dataset).model_dump(mode="json", exclude={"name"})
    section["tuning"]["space"] = {
        name: space_text(entry) for name, entry in section["tuning"]["space"].items()
    }
    run_id = tracker.start_run(
        experiment,
        f"{dataset} pipeline ({params.profile})",
        "pipeline",
        tags=tags,
        params={"profile": params.profile, **section},
    )
    if tags["seqlab.git_commit"].endswith("-dirty"):  # e.g. params.yaml edited, then `dvc repro`
        tracker.log_text(run_id, git_diff(paths.root), SOURCE_DIFF)  # what `seqlab reproduce` applies
    return PipelineRun(tracker=tracker, dataset=dataset, experiment_id=experiment, run_id=run_id)


def space_text(entry: Mapping[str, Any]) -> str:
    """One search-space entry as a single param: ``gru | lstm``, ``0.001..0.01 log``, ``64``.

    Logged as nested keys, every entry showed its unused ``min``/``max``/``step`` as ``null``.
    """
    if entry.get("values") is not None:
        return " | ".join(str(value) for value in entry["values"])
    if entry.get("min") is not None:
        step = f" step {entry['step']}" if entry.get("step") is not None else ""
        sampling = f" {entry['sampling']}" if entry.get("sampling") not in (None, "linear") else ""
        return f"{entry['min']}..{entry['max']}{step}{sampling}"
    return str(entry.get("value"))


def finish_pipeline(
    run: PipelineRun,
    error: BaseException | None = None,
    step: str | None = None,
    data_hashes: Mapping[str, str] | None = None,
) -> None:
    """End the parent run: FINISHED, or FAILED naming the step that raised.

    ``data_hashes``: the DVC hashes of the data this run used (``seqlab.dvc.<path>`` tags), computed
    by the caller for any profile. The run also records the hash of dvc.lock as it stands, so
    ``seqlab reproduce`` can tell whether a checkout's lock describes the same outputs.
    """
    if error is not None and step:
        run.tracker.set_tags(run.run_id, {"seqlab.failed_step": step})
    paths = ProjectPaths.at(run.tracker.root)
    lock_file = paths.root / "dvc.lock"
    # the data this run used, whichever entry point prepared it
    run.tracker.set_tags(
        run.run_id,
        {
            "seqlab.prepared_manifest_sha256": _manifest_sha256(run.dataset, paths),
            "seqlab.dvc_lock_sha256": (
                hashlib.sha256(lock_file.read_bytes()).hexdigest() if lock_file.exists() else "absent"
            ),
            **(data_hashes or {}),
        },
    )
    if run.reused:
        note_reuse(run)
    run.tracker.finish(run.run_id, error)


def registry_path(paths: ProjectPaths, dataset: str) -> Path:
    """Return the file the register step writes: the registered version and the champion decision."""
    return paths.results_dir(dataset, "register") / "registry.json"


def comparison_sentence(result: Mapping[str, Any]) -> str:
    """Describe a pipeline run: the best model, its test metric beside the best baseline's, the verdict.

    Built from what the register step wrote (``register/registry.json``), so a reused run says the same.
    """
    metric, unit, higher = result["metric"], result.get("unit"), bool(result["higher_is_better"])
    value, reference = float(result["value"]), float(result["best_baseline_value"])
    alias, champion = result["alias"], result.get("champion_version")
    why = str(result["decision"]).removeprefix("not promoted: ")  # the verdict says it once
    if result["champion_moved"]:
        verdict = f"It is the new {alias} (v{result['version']})."
    elif champion:
        verdict = f"Not promoted: {alias} stays on v{champion} ({why})."
    else:
        verdict = f"Not promoted ({why}); no version is {alias}."
    p_value = result.get("dm_p_value")  # a series' Diebold-Mariano test: is the difference real?
    sure = (
        ""
        if p_value is None
        else f" (Diebold-Mariano p = {p_value:.2g}{'' if p_value < 0.05 else ', not significant'})"
    )
    backtest = f" The {result['backtest']}." if result.get("backtest") else ""
    return (
        f"Best model: {result['model']} ({result['registered_model']} v{result['version']}), "
        f"{metric} {format_value(value, metric, unit)} vs best baseline {result['best_baseline']} "
        f"{format_value(reference, metric, unit)}: {gap(value, reference, metric, higher, unit)}{sure}. "
        f"{verdict}{backtest}"
    )


def _backtest_sentence(paths: ProjectPaths, dataset: str) -> str | None:
    """Return the backtest's one-sentence result (None: no backtest, e.g. a dataset without time order)."""
    path = paths.results_dir(dataset, "backtest") / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    sentence = summary.get("sentence")
    return str(sentence) if sentence else None


def combination_metrics(evaluation: Evaluation) -> dict[str, float]:
    """Return the combination's test metrics, weight, DM test (``combination_*``), the variant's DM test."""
    combination = evaluation.combination or {}
    significance = evaluation.significance or {}
    return {
        **{
            f"combination_{key}": float(value)
            for key, value in combination.items()
            if (
                key.startswith("test_")
                or key in ("weight", "skill_vs_best_baseline", "dm_statistic", "dm_p_value")
            )
            and math.isfinite(float(value))
        },
        **{
            f"dm_{key}": float(significance[key])
            for key in ("statistic", "p_value")
            if math.isfinite(significance.get(key, math.nan))  # a constant differential tests as ±inf
        },
    }


def _log_headline(run: PipelineRun, paths: ProjectPaths) -> None:
    """Log a reused run's test metrics beside the best baseline's (so its row in the UI is not blank)."""
    evaluation = Evaluation.read(paths, run.dataset)
    best = evaluation.best_variant_metrics
    baseline = evaluation.baselines[evaluation.best_baseline]
    tests = [name for name in best if name.startswith("test_")]
    run.tracker.log_metrics(
        run.run_id,
        {
            **{name: best[name] for name in tests},
            **{f"best_baseline_{name}": baseline[name] for name in tests if name in baseline},
            "skill_vs_best_baseline": best.get("skill_vs_best_baseline", float("nan")),
            **combination_metrics(evaluation),
        },
    )


def note_reuse(run: PipelineRun) -> None:
    """Say on the parent which steps were reused and link the runs that produced them.

    A reused step records no children and uploads nothing again (that would copy the whole tree on
    every scheduled no-op rerun); a tag per step names its producing run, and the run's description
    (MLflow's note) links to it in the UI.
    """
    producers: dict[str, list[str]] = {}
    for step, producer in run.reused.items():
        producers.setdefault(producer, []).append(step)
    paths = ProjectPaths.at(run.tracker.root)
    registry = registry_path(paths, run.dataset)
    recorded = json.loads(registry.read_text(encoding="utf-8")) if registry.exists() else {}
    # a registry.json of an older seqlab lacks the comparison (its register step reruns next time)
    written = run.tracker.run_record(run.run_id)["tags"].get(NOTE_TAG)  # by this run's register step
    if written:
        lines = [written, ""]
    elif "register" in run.reused and "best_baseline" in recorded:
        lines = [comparison_sentence(recorded), ""]
    else:
        lines = []
    if "evaluate" in run.reused and Evaluation.path(paths, run.dataset).exists():
        _log_headline(run, paths)
    if "backtest" in run.reused:  # its figures on this parent too, so its row in the UI is not blank
        run.tracker.log_metrics(run.run_id, backtest_metrics(paths, run.dataset))
    lines += [
        f"Reused without recomputing: {', '.join(run.reused)} "
        f"({len(run.reused)} of {len(STAGES)} steps; inputs, code and params unchanged)."
    ]
    for producer, steps in producers.items():
        link = f"#/experiments/{run.experiment_id}/runs/{producer}"
        lines.append(f"- {', '.join(steps)}: recorded by run [{producer}]({link})")
    run.tracker.set_tags(
        run.run_id,
        {
            **{f"seqlab.reused.{step}": producer for step, producer in run.reused.items()},
            "seqlab.reused_steps": ",".join(run.reused),
            "seqlab.reused_from": next(reversed(run.reused.values())),
            NOTE_TAG: "\n".join(lines),
        },
    )


# --------------------------------------------------------------------------- children


def _best_index(values: list[float], direction: str) -> int | None:
    finite = [(value, index) for index, value in enumerate(values) if math.isfinite(value)]
    if not finite:
        return None
    return min(finite, key=lambda item: (item[0] if direction == "min" else -item[0], item[1]))[1]


def record_baselines(run: PipelineRun, params: Params, paths: ProjectPaths) -> dict[str, str]:
    """One ``baseline`` child per statistical baseline, with its settings and test metrics."""
    config = params.dataset(run.dataset)
    settings = config.baselines.model_dump(mode="json")
    ids: dict[str, str] = {}
    for name, values in read_baseline_metrics(paths, run.dataset).items():
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
    result = SearchResult.read(paths, run.dataset)
    settings = params.dataset(run.dataset).tuning
    best_id = result.best.trial_id if result.best else None
    ids: dict[str, str] = {}
    for trial in result.trials:
        child = run.tracker.start_run(
            run.experiment_id,
            f"trial {trial.trial_id} · {model_label(trial.hyperparameters)}",
            "trial",
            parent_id=run.run_id,
            start_time=trial.started_ms,
            tags={
                "seqlab.trial_id": trial.trial_id,
                "seqlab.trial_status": trial.status,
                "seqlab.best_trial": str(trial.trial_id == best_id).lower(),
                "seqlab.objective": f"{result.objective} ({result.direction})",
            },
            params={
                **applicable(trial.hyperparameters),
                "algorithm": settings.algorithm,
                "epochs": settings.epochs,
                "batch_size": settings.batch_size,
                **({"bucket_width": settings.bucket_width} if settings.bucket_width else {}),
            },
        )
        history = trial.history or {}
        run.tracker.log_history(child, history)
        index = _best_index(history.get(result.objective, []), result.direction)
        if index is not None:
            run.tracker.log_metrics(
                child,
                {"best_epoch": index + 1, **{name: values[index] for name, values in history.items()}},
            )
        if trial.score is not None:
            run.tracker.log_metrics(child, {"score": trial.score})
        failed = trial.status != "COMPLETED"
        run.tracker.finish(child, trial.message or trial.status if failed else None, end_time=trial.ended_ms)
        ids[trial.trial_id] = child
    return ids


def record_variants(run: PipelineRun, params: Params, paths: ProjectPaths) -> dict[str, str]:
    """One ``variant`` child per dropout variant: hyperparameters, curves, best epoch, test metrics."""
    summary = TrainSummary.read(paths, run.dataset)
    evaluation = Evaluation.read(paths, run.dataset)
    settings = params.dataset(run.dataset).training
    plots_dir = paths.results_dir(run.dataset, "evaluate") / "plots"
    for name, fit in summary.variants.items():
        with run.tracker.run(
            run.experiment_id,
            f"variant {name} · {model_label(fit.hyperparameters)}",
            "variant",
            parent_id=run.run_id,
            start_time=fit.started_ms,  # the fit's own times, not the moment it is recorded
            end_time=fit.ended_ms,
            tags={
                "seqlab.variant": name,
                "seqlab.best_variant": str(name == evaluation.best_variant).lower(),
                "seqlab.model": model_label(fit.hyperparameters),
            },
            params={
                **applicable(fit.hyperparameters),
                "epochs": settings.epochs,
                "batch_size": settings.batch_size,
                **({"bucket_width": settings.bucket_width} if settings.bucket_width else {}),
                "patience": settings.patience,
                "seed": settings.seed,
            },
        ) as child:
            run.tracker.log_history(child, fit.history)
            run.tracker.log_metrics(
                child,
                {
                    "best_epoch": fit.best_epoch,
                    "epochs_run": fit.epochs_run,
                    **fit.best_metrics,
                    **evaluation.variants[name],
                },
            )
            variant_dir = paths.results_dir(run.dataset, "train") / name
            run.tracker.log_artifact(child, variant_dir / "model.keras", "keras")
            run.tracker.log_artifact(child, variant_dir / "fit.json")
            run.tracker.log_artifact(child, plots_dir / f"learning_curves_{name}.png", "plots")
        run.variant_runs[name] = child
    return dict(run.variant_runs)


def record_evaluation(run: PipelineRun, params: Params, paths: ProjectPaths) -> None:
    """Summarise on the parent: the best variant's test metrics beside the best baseline's, artifacts."""
    config = params.dataset(run.dataset)
    kind = modality(config)
    evaluate_dir = paths.results_dir(run.dataset, "evaluate")
    evaluation = Evaluation.read(paths, run.dataset)
    best = evaluation.best_variant_metrics
    baseline = evaluation.baselines[evaluation.best_baseline]
    run.tracker.log_metrics(
        run.run_id,
        {
            **{name: best[name] for name in kind.test_metrics if name in best},
            **{f"best_baseline_{name}": baseline[name] for name in kind.test_metrics if name in baseline},
            "skill_vs_best_baseline": best.get("skill_vs_best_baseline", float("nan")),
            **combination_metrics(evaluation),
        },
    )
    # what the best model really used (prepare.window_size is only the longest window on offer)
    chosen = TrainSummary.read(paths, run.dataset).variants[evaluation.best_variant].hyperparameters
    run.tracker.log_params(
        run.run_id,
        {
            "best_model": f"variant {evaluation.best_variant} · {model_label(chosen)}",
            **{f"best_model.{name}": value for name, value in applicable(chosen).items()},
        },
    )
    run.tracker.set_tags(
        run.run_id,
        {
            "seqlab.metric": evaluation.metric,
            "seqlab.best_variant": evaluation.best_variant,
            "seqlab.best_baseline": evaluation.best_baseline,
            "seqlab.test_data_sha256": evaluation.test_data_sha256,
        },
    )
    for name in ("leaderboard.csv", "leaderboard.md", "metrics.json", "scores.json", "learning_curves.csv"):
        run.tracker.log_artifact(run.run_id, evaluate_dir / name, "evaluation")
    run.tracker.log_artifact(run.run_id, evaluate_dir / "plots", "plots")
    run.tracker.log_artifact(run.run_id, SearchResult.path(paths, run.dataset), "tuning")
    folder = paths.prepared_dir(run.dataset)
    for artifact, content in kind.data_artifacts(folder, read_manifest(folder)).items():
        if isinstance(content, Path):
            run.tracker.log_artifact(run.run_id, content, str(Path(artifact).parent))
        else:
            run.tracker.log_text(run.run_id, content, artifact)
    effective = {run.dataset: config.model_dump(mode="json", exclude={"name"}), "profile": params.profile}
    run.tracker.log_text(run.run_id, yaml.safe_dump(effective, sort_keys=False), "params.yaml")


# --------------------------------------------------------------------------- registry


def register_best(run: PipelineRun, params: Params, paths: ProjectPaths, log: Log = print) -> dict[str, Any]:
    """Register the best variant as ``seqlab-<dataset>``; move ``champion`` only if it wins fairly.

    Where validation prefers the forecast combination (:func:`seqlab.registry.registers_combination`),
    that is registered instead: a blend, or the baseline alone when the variant's weight is 0. The rule
    is :func:`seqlab.registry.decide_champion`. The decision is written to
    ``results/<dataset>/register/registry.json`` and tagged on the new version.
    """
    from seqlab.champion import log_champion, registered_model_name
    from seqlab.runtime import load_keras

    load_keras()

    dataset = run.dataset
    config = params.dataset(dataset)
    evaluation = Evaluation.read(paths, dataset)
    summary = TrainSummary.read(paths, dataset)
    metric, higher = evaluation.metric, evaluation.higher_is_better
    name = evaluation.best_variant
    value, test_hash = float(evaluation.best_variant_metrics[metric]), evaluation.test_data_sha256
    variant_run = run.variant_runs.get(name)
    if variant_run is None:
        raise ValueError(f"{dataset}: variant {name!r} has no recorded run; record the variants first")
    hyperparameters = summary.variants[name].hyperparameters
    model_file = paths.results_dir(dataset, "train") / name / "model.keras"
    data = modality(config).load(config, paths)
    label = f"variant {name} · {model_label(hyperparameters)}"
    # the combination of validation's weight, where it blends (seqlab.registry.registers_combination)
    blend = evaluation.combination
    if not registers_combination(blend, data.served_baselines):
        blend = None
    if blend is not None:
        weight = float(blend["weight"])
        value = float(blend[metric])
        label = (
            f"combination {weight:.2f} × {label} + {1 - weight:.2f} × {blend['baseline']}"
            if weight > 0
            else f"baseline {blend['baseline']} alone (validation gave {label} weight 0)"
        )
    # raw inputs in, forecasts out
    model_uri = log_champion(run.tracker, variant_run, data, model_file, hyperparameters, blend)
    registered = registered_model_name(dataset, params)
    alias = params.pipeline.champion_alias
    baseline = Score(evaluation.best_baseline, evaluation.best_baseline_value)
    unit = config.kind.unit_of(config)
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
            "seqlab.model": label,
            "seqlab.best_baseline": baseline.name,
            f"seqlab.best_baseline.{metric}": repr(baseline.value),
            **(
                {}
                if blend is None
                else {
                    "seqlab.combination_weight": repr(blend["weight"]),
                    "seqlab.combination_baseline": blend["baseline"],
                }
            ),
        },
        description=f"Best seqlab model of {dataset}, scored by {metric} on its test split.",
    )
    holder = run.tracker.alias_version(registered, alias)
    current = None
    if holder is not None:
        current_version, tags = holder
        current = Champion(
            version=current_version,
            value=float(tags.get("seqlab.value", "nan")),
            test_data_sha256=tags.get("seqlab.test_data_sha256"),
        )
    decision = decide_champion(value, test_hash, metric, higher, alias, current, baseline, unit)
    if decision.action == "move":
        run.tracker.set_alias(registered, alias, version)
    elif decision.action == "remove":
        run.tracker.delete_alias(registered, alias)
    champion: str | None = (
        version if decision.moved else (current.version if current and decision.action == "keep" else None)
    )
    run.tracker.set_version_tags(
        registered,
        version,
        {
            "seqlab.champion_decision": decision.reason,
            "seqlab.beats_baseline": str(decision.beats_baseline).lower(),
        },
    )
    result = {
        "registered_model": registered,
        "version": version,
        "variant": name,
        "model": label,
        "combination": None if blend is None else {"weight": blend["weight"], "baseline": blend["baseline"]},
        "metric": metric,
        "value": value,
        "higher_is_better": higher,
        "unit": unit,
        "best_baseline": baseline.name,
        "best_baseline_value": baseline.value,
        "beats_baseline": decision.beats_baseline,
        "test_data_sha256": test_hash,
        "alias": alias,
        "champion_version": champion,
        "champion_moved": decision.moved,
        "decision": decision.reason,
        "dm_p_value": (evaluation.significance or {}).get("p_value")
        if blend is None
        else blend.get("dm_p_value"),
        "backtest": _backtest_sentence(paths, dataset),
        "pipeline_run_id": run.run_id,
        "model_uri": model_uri,
    }
    sentence = comparison_sentence(result)
    run.tracker.describe_version(registered, version, f"{label}: {decision.reason}.")
    run.tracker.describe_registered_model(
        registered,
        f"The best seqlab model of each {dataset} pipeline run, scored by {metric} on the test split. "
        f"`{alias}` goes only to a model that beats the best statistical baseline on the same test data "
        f"(and the current {alias}). Latest: {sentence}",
        {
            "seqlab.best_baseline": baseline.name,
            f"seqlab.best_baseline.{metric}": repr(baseline.value),
            "seqlab.champion_version": champion or "none",
        },
    )
    run.tracker.set_tags(
        run.run_id,
        {
            "seqlab.registered_model": registered,
            "seqlab.registered_version": version,
            "seqlab.champion_version": champion or "none",
            "seqlab.beats_baseline": str(decision.beats_baseline).lower(),
            NOTE_TAG: sentence,
        },
    )
    write_json(registry_path(paths, dataset), result)
    log(f"{dataset}: registered {registered} v{version}; {alias}: {decision.reason}")
    return result


BACKTEST_METRICS = ("mae_model", "mae_baseline", "skill", "mae_difference_se", "dm_statistic", "dm_p_value")


def backtest_metrics(paths: ProjectPaths, dataset: str) -> dict[str, float]:
    """Return the backtest's figures as the parent run's ``backtest_*`` metrics (none without a backtest)."""
    path = paths.results_dir(dataset, "backtest") / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if not summary.get("origins"):
        return {}
    return {
        "backtest_origins": float(summary["origins"]),
        **{f"backtest_{key}": float(summary[key]) for key in BACKTEST_METRICS if key in summary},
    }


def record_backtest(run: PipelineRun, params: Params, paths: ProjectPaths) -> None:
    """Log the backtest's means, skill and Diebold-Mariano test on the parent, with its table and plot."""
    metrics = backtest_metrics(paths, run.dataset)
    if not metrics:
        return
    folder = paths.results_dir(run.dataset, "backtest")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    run.tracker.log_metrics(run.run_id, metrics)
    run.tracker.set_tags(
        run.run_id,
        {"seqlab.backtest_baseline": summary["best_baseline"], "seqlab.backtest": summary["sentence"]},
    )
    for name in ("summary.json", "origins.csv", "metrics.json"):
        run.tracker.log_artifact(run.run_id, folder / name, "backtest")
    run.tracker.log_artifact(run.run_id, folder / "plots", "backtest")


# --------------------------------------------------------------------------- entry points

RECORDERS: dict[str, Callable[[PipelineRun, Params, ProjectPaths], Any]] = {
    "baselines": record_baselines,
    "tune": record_trials,
    "backtest": record_backtest,
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
        for step in STAGES:  # what each stage left, in order (register last: it needs the variant runs)
            result = record_stage(run, step, params, paths, log=log)
    except BaseException as error:
        finish_pipeline(run, error, step)
        raise
    finish_pipeline(run)
    return dict(result)


def record_failure(
    dataset: str, params: Params, paths: ProjectPaths, step: str, error: BaseException, entry_point: str
) -> str:
    """Leave a FAILED pipeline run naming the step that raised (a ``seqlab stage`` run outside a flow)."""
    run = start_pipeline(dataset, params, paths, entry_point)
    finish_pipeline(run, error, step)
    return run.run_id
