"""The one place seqlab talks to MLflow.

Embedded default: a SQLite store ``mlflow.db`` and an artifact folder ``mlartifacts/`` inside the
project; ``MLFLOW_TRACKING_URI`` overrides it the standard way. Nothing happens at import time.
Every call names its run id explicitly through an ``MlflowClient``: MLflow's fluent active run is
thread-local, and Prefect runs tasks in worker threads.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

TRACKING_ENV = "MLFLOW_TRACKING_URI"
KIND_TAG = "seqlab.kind"
KINDS: tuple[str, ...] = ("pipeline", "trial", "variant", "baseline")
PARENT_TAG = "mlflow.parentRunId"
HOST_TAG = "seqlab.host"
PID_TAG = "seqlab.pid"
ERROR_TAG = "seqlab.error"
MAX_PARAM_CHARS = 6000
MAX_TAG_CHARS = 5000
SHARED_VIEW_TAG_PREFIX = "mlflow.sharedViewState."  # an experiment's saved runs-page views (MLflow UI)
# The file MLflow runs to load a registered seqlab model ("models from code"), written beside it when
# it is logged: the MLflow side of serving, so the served code (seqlab.serving) never imports MLflow.
# Loading, MLflow has put the model's code/ folder first on sys.path: it holds <SHIPPED>, the serving
# code shipped with the model. A model loaded earlier in the process left its own copy in sys.modules
# (perhaps from a folder since deleted, as MLflow's check of an input example does), so that copy is
# forgotten and this model's is read. Logging, no copy lies beside this file and <PACKAGE>'s own runs.
PYFUNC_ENTRY = """\
import importlib
import sys
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel

if (Path(__file__).resolve().parent / "code" / "<SHIPPED>").is_dir():
    for name in [name for name in sys.modules if name.split(".")[0] == "<SHIPPED>"]:
        del sys.modules[name]
    serving = importlib.import_module("<SHIPPED>.<MODULE>")
else:
    serving = importlib.import_module("<PACKAGE>.<MODULE>")


class BadInput(MlflowException, ValueError):
    \"\"\"Input the model cannot read: a ValueError in Python, a 400 from `mlflow models serve`.\"\"\"

    def __init__(self, message):
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)


class Champion(PythonModel):
    def load_context(self, context):
        self.model = serving.ChampionModel(dict(context.artifacts))

    def predict(self, context, model_input, params=None):
        try:
            return self.model.predict(model_input)
        except serving.InputError as error:
            raise BadInput(str(error)) from None


mlflow.models.set_model(Champion())
"""
# How long a Tracker waits for another process that is creating or migrating the SQLite store.
STORE_LOCK_TIMEOUT_SECONDS = 300.0


def tracking_uri(root: str | Path) -> str:
    """Return ``$MLFLOW_TRACKING_URI`` if set, else the project's SQLite store."""
    configured = os.environ.get(TRACKING_ENV)
    if configured:
        return configured
    return f"sqlite:///{Path(root).resolve() / 'mlflow.db'}"


def artifact_root(root: str | Path, uri: str | None = None) -> Path:
    """Folder for artifacts of experiments that seqlab creates in a SQLite store.

    ``mlartifacts/`` beside the database file: the project's by default, or beside the file that
    ``MLFLOW_TRACKING_URI=sqlite:///...`` names (MLflow's own default would be ``./mlruns`` in
    whatever folder the command runs from).
    """
    uri = uri or tracking_uri(root)
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts"
    return Path(root).resolve() / "mlartifacts"


def client(root: str | Path) -> Any:
    """Return an MlflowClient on the configured store (explicit, never the thread-local fluent state)."""
    return Tracker(root).client


def sqlite_file(uri: str) -> Path | None:
    """Return the database file a ``sqlite:///`` tracking URI names (query string dropped), else None."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri.removeprefix("sqlite:///").partition("?")[0]
    return Path(path) if path and path != ":memory:" else None


@contextlib.contextmanager
def _opening_store(uri: str) -> Iterator[None]:
    """Hold ``<database>.lock`` (beside a SQLite store's file) while MLflow creates or migrates it.

    MLflow creates a fresh SQLite store's tables when a client first opens it, and concurrent
    creators collide (``table experiments already exists``, or a store left half-migrated for
    good). A store that cannot be opened fails naming its file. Other tracking URIs (a server,
    another database) are opened as they are.
    """
    database = sqlite_file(uri)
    if database is None:
        yield
        return
    from filelock import FileLock, Timeout
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    database = database.resolve()
    database.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(database.with_name(database.name + ".lock"), timeout=STORE_LOCK_TIMEOUT_SECONDS)
    try:
        lock.acquire()
    except Timeout:
        raise RuntimeError(
            f"{lock.lock_file}: another process has held the lock of MLflow store {database} for "
            f"{STORE_LOCK_TIMEOUT_SECONDS:.0f} s (creating or migrating it); if no seqlab or mlflow "
            "process is running, delete the lock file and retry"
        ) from None
    try:
        yield
    except (MlflowException, SQLAlchemyError) as error:
        problem = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RuntimeError(
            f"{database}: cannot open this MLflow store ({problem}); a store that several processes "
            "created at once (before seqlab locked its creation) can be left half-migrated: move the "
            "file aside to start a new store"
        ) from error
    finally:
        lock.release()


def _already_exists(error: Exception) -> bool:
    """Whether an MlflowException says the resource was created meanwhile (a concurrent creator)."""
    from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode

    return getattr(error, "error_code", None) == ErrorCode.Name(RESOURCE_ALREADY_EXISTS)


def experiment_id(root: str | Path, name: str) -> str:
    """Return the id of experiment ``name``, creating it with a project-local artifact folder."""
    return Tracker(root).experiment(name)


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings into dotted keys (``training.epochs``), as MLflow params are flat."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _finite(metrics: Mapping[str, Any]) -> dict[str, float]:
    finite: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(float(value)):
            finite[key] = float(value)
    return finite


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Tracker:
    """Writes runs, metrics, artifacts and registry entries to one MLflow store by explicit run id."""

    def __init__(self, root: str | Path, uri: str | None = None) -> None:
        """Open the store of the project at ``root`` (or ``uri``); a fresh SQLite store under a lock."""
        from mlflow.tracking import MlflowClient

        self.root = Path(root).resolve()
        self.uri = uri or tracking_uri(self.root)
        # The client opens the tracking store on construction, and that store's first opening in a
        # process creates and migrates all tables (the registry's too): done under the file lock.
        with _opening_store(self.uri):
            # The registry explicitly in the same store: left unset, MLflow takes it from the
            # process-wide tracking URI, which another store may have set.
            self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    # ------------------------------------------------------------------ runs

    def experiment(self, name: str) -> str:
        """Return the id of experiment ``name``, creating it (artifacts in the project by default).

        Safe against a concurrent creator (parallel pipelines on a fresh store): the loser of the
        race reads the winner's experiment.
        """
        from mlflow.exceptions import MlflowException

        existing = self.client.get_experiment_by_name(name)
        if existing is not None:
            return str(existing.experiment_id)
        # A tracking server or file store picks its own artifact location; a SQLite file gets a folder
        # beside it.
        location = artifact_root(self.root, self.uri).as_uri() if self.uri.startswith("sqlite:///") else None
        try:
            return str(self.client.create_experiment(name, artifact_location=location))
        except MlflowException as error:
            created = self.client.get_experiment_by_name(name) if _already_exists(error) else None
            if created is None:
                raise
            return str(created.experiment_id)

    def start_run(
        self,
        experiment: str,
        run_name: str,
        kind: str,
        parent_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        start_time: int | None = None,
    ) -> str:
        """Create a RUNNING run of ``kind`` (a child of ``parent_id`` if given) and return its id.

        ``start_time`` (epoch ms): when the work it records began, for a run recorded after the fact.
        """
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        all_tags = {
            KIND_TAG: kind,
            HOST_TAG: socket.gethostname(),
            PID_TAG: str(os.getpid()),
            **{key: str(value)[:MAX_TAG_CHARS] for key, value in (tags or {}).items()},
        }
        if parent_id:
            all_tags[PARENT_TAG] = parent_id
        run = self.client.create_run(experiment, run_name=run_name, tags=all_tags, start_time=start_time)
        run_id = str(run.info.run_id)
        if params:
            self.log_params(run_id, params)
        return run_id

    def finish(
        self, run_id: str, error: BaseException | str | None = None, end_time: int | None = None
    ) -> None:
        """End a run: FINISHED, or FAILED with the error in the ``seqlab.error`` tag.

        ``end_time`` (epoch ms): when the recorded work ended, if not now.
        """
        if error is None:
            self.client.set_terminated(run_id, status="FINISHED", end_time=end_time)
            return
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self.client.set_tag(run_id, ERROR_TAG, message[:MAX_TAG_CHARS] or "failed")
        self.client.set_terminated(run_id, status="FAILED", end_time=end_time)

    def close_stale_runs(self, experiment: str) -> list[str]:
        """Mark FAILED the RUNNING runs of this host whose process is gone (an interrupted pipeline).

        Runs of live processes (a concurrent pipeline) and of other hosts are left alone.
        """
        host = socket.gethostname()
        closed: list[str] = []
        runs = self.client.search_runs([experiment], filter_string="attributes.status = 'RUNNING'")
        for run in runs:
            tags = run.data.tags
            pid = tags.get(PID_TAG, "")
            if tags.get(HOST_TAG) != host or not pid.isdigit():
                continue
            if int(pid) != os.getpid() and _pid_alive(int(pid)):
                continue
            self.finish(run.info.run_id, f"interrupted: process {pid} ended without closing this run")
            closed.append(str(run.info.run_id))
        return closed

    def run_exists(self, run_id: str) -> bool:
        """Whether this store holds run ``run_id`` (a reused step links to it only then)."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_run(run_id)
        except MlflowException:
            return False
        return True

    def run_record(self, run_id: str) -> dict[str, Any]:
        """Return a run as plain data (experiment, status, start time in ms, tags, metrics, params).

        Raises ValueError naming the run and the store when the store has no such run.
        """
        from mlflow.exceptions import MlflowException

        try:
            run = self.client.get_run(run_id)
        except MlflowException:
            raise ValueError(f"no MLflow run {run_id!r} in {self.uri}") from None
        return {
            "run_id": run.info.run_id,
            "experiment_id": str(run.info.experiment_id),
            "status": run.info.status,
            "start_time": int(run.info.start_time or 0),
            "tags": dict(run.data.tags),
            "metrics": dict(run.data.metrics),
            "params": dict(run.data.params),
        }

    def read_text_artifact(self, run_id: str, path: str) -> str | None:
        """Return the text of a run's artifact file, or None if the run has no such file."""
        import tempfile

        from mlflow.exceptions import MlflowException

        with tempfile.TemporaryDirectory() as folder:
            try:
                local = self.client.download_artifacts(run_id, path, folder)
            except (MlflowException, OSError):
                return None
            return Path(local).read_text(encoding="utf-8")

    def pipeline_runs_since(self, experiment: str, dataset: str, since_ms: int) -> list[dict[str, Any]]:
        """Parent pipeline runs of ``dataset`` started at or after ``since_ms``, newest first."""
        found = self.client.search_runs(
            [experiment],
            filter_string=(
                f"tags.`seqlab.kind` = 'pipeline' and tags.`seqlab.dataset` = '{dataset}' "
                f"and attributes.start_time >= {int(since_ms)}"
            ),
            order_by=["attributes.start_time DESC"],
        )
        return [self.run_record(run.info.run_id) for run in found]

    def find_experiment(self, name: str) -> str | None:
        """Return the id of experiment ``name`` if it exists (never creates it)."""
        existing = self.client.get_experiment_by_name(name)
        return None if existing is None else str(existing.experiment_id)

    def save_runs_view(self, experiment: str, key: str, name: str, state: Mapping[str, Any]) -> None:
        """Save a named view of an experiment's runs page (filter, sort, columns) for links to open.

        MLflow's UI (3.17) keeps one in the experiment tag ``mlflow.sharedViewState.<key>``, lists
        it in the page's Views menu and opens it from ``?viewStateShareKey=<key>``. Rewritten only
        when it changed.
        """
        tag = f"{SHARED_VIEW_TAG_PREFIX}{key}"
        state_text = json.dumps(dict(state), sort_keys=True)
        try:
            saved = json.loads(self.client.get_experiment(experiment).tags.get(tag) or "{}")
        except ValueError:
            saved = {}
        if not isinstance(saved, dict):
            saved = {}
        if saved.get("name") == name and saved.get("state") == state_text:
            return
        now = _now_ms()
        envelope = {"name": name, "createdAt": saved.get("createdAt", now), "updatedAt": now}
        self.client.set_experiment_tag(experiment, tag, json.dumps({**envelope, "state": state_text}))

    @contextlib.contextmanager
    def run(
        self, experiment: str, run_name: str, kind: str, end_time: int | None = None, **kwargs: Any
    ) -> Iterator[str]:
        """Yield a new run id; the run ends FINISHED (at ``end_time`` if given), or FAILED if it raises."""
        run_id = self.start_run(experiment, run_name, kind, **kwargs)
        try:
            yield run_id
        except BaseException as error:
            self.finish(run_id, error)
            raise
        self.finish(run_id, end_time=end_time)

    # ------------------------------------------------------------------ values

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set string tags on a run."""
        from mlflow.entities import RunTag

        entries = [RunTag(key, str(value)[:MAX_TAG_CHARS]) for key, value in tags.items()]
        if entries:
            self.client.log_batch(run_id, tags=entries)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log (flattened) hyperparameters; long values are truncated to MLflow's limit."""
        from mlflow.entities import Param

        entries = [
            Param(key, ("null" if value is None else str(value))[:MAX_PARAM_CHARS])
            for key, value in flatten(params).items()
        ]
        for start in range(0, len(entries), 100):
            self.client.log_batch(run_id, params=entries[start : start + 100])

    def log_metrics(self, run_id: str, metrics: Mapping[str, Any], step: int = 0) -> None:
        """Log the finite numeric values of ``metrics`` at ``step`` (non-numbers are skipped)."""
        from mlflow.entities import Metric

        timestamp = _now_ms()
        entries = [Metric(key, value, timestamp, step) for key, value in _finite(metrics).items()]
        for start in range(0, len(entries), 1000):
            self.client.log_batch(run_id, metrics=entries[start : start + 1000])

    def log_history(
        self, run_id: str, history: Mapping[str, Sequence[float]], prefix: str = "epoch/"
    ) -> None:
        """Log per-epoch curves as ``epoch/<metric>`` with step = epoch (1-based).

        The prefix keeps the curves apart from the run's summary metrics, which hold the best epoch's
        values: the MLflow table shows a metric's latest value, which for a curve is the last epoch.
        """
        from mlflow.entities import Metric

        timestamp = _now_ms()
        entries = [
            Metric(f"{prefix}{name}", float(value), timestamp, epoch)
            for name, values in history.items()
            for epoch, value in enumerate(values, start=1)
            if math.isfinite(float(value))
        ]
        for start in range(0, len(entries), 1000):
            self.client.log_batch(run_id, metrics=entries[start : start + 1000])

    def log_artifact(self, run_id: str, path: str | Path, artifact_path: str | None = None) -> None:
        """Copy a file or a whole folder into the run's artifacts."""
        path = Path(path)
        if path.is_dir():
            self.client.log_artifacts(run_id, str(path), artifact_path)
        elif path.exists():
            self.client.log_artifact(run_id, str(path), artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Write ``text`` as an artifact file of the run."""
        self.client.log_text(run_id, text, artifact_file)

    # ------------------------------------------------------------------ models and registry

    def log_pyfunc_model(
        self,
        run_id: str,
        serving_module: str,
        shipped_package: str,
        artifacts: Mapping[str, str],
        code_paths: Sequence[Path],
        input_example: Any,
        output_columns: Mapping[str, str],
        pip_requirements: Sequence[str],
    ) -> str:
        """Log an MLflow pyfunc from code: :data:`PYFUNC_ENTRY` wrapping ``serving_module``'s ChampionModel.

        ``serving_module`` (``seqlab.serving.model``) is imported from ``shipped_package`` inside the
        model (its ``code_paths``), or as it is where no shipped copy exists (the logging process).

        Returns the ``models:/<model_id>`` URI. The signature declares the outputs only (name → MLflow
        type): the model checks its raw inputs itself and says what is wrong, where MLflow's schema
        check would refuse, e.g., whole numbers in a float column. MLflow's model logging only works
        through the fluent API, so the run is resumed in this thread for the call; an ended run gets
        its status and end time back (a variant's are its fit's), a running one ends FINISHED.
        """
        import mlflow
        import mlflow.pyfunc
        from mlflow.models import ModelSignature
        from mlflow.types import ColSpec, Schema

        outputs = Schema([ColSpec(kind, name) for name, kind in output_columns.items()])
        before = self.client.get_run(run_id).info
        package, _, module = serving_module.partition(".")
        entry = PYFUNC_ENTRY.replace("<SHIPPED>", shipped_package).replace("<PACKAGE>", package)
        with (
            tempfile.TemporaryDirectory(prefix="seqlab-pyfunc-") as folder,
            self._process_wide_store(),
            mlflow.start_run(run_id=run_id),
        ):
            entry_file = Path(folder) / "pyfunc_entry.py"
            entry_file.write_text(entry.replace("<MODULE>", module), encoding="utf-8")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(entry_file),
                artifacts=dict(artifacts),
                code_paths=[str(path) for path in code_paths],
                signature=ModelSignature(outputs=outputs),
                input_example=input_example,
                pip_requirements=list(pip_requirements),
            )
        if before.end_time:
            self.client.set_terminated(run_id, status=before.status, end_time=before.end_time)
        return str(info.model_uri)

    def load_pyfunc_model(self, model_uri: str) -> Any:
        """Load a pyfunc model of this store (``models:/name@alias``, ``models:/name/3``).

        Raises RuntimeError naming the URI and the store when MLflow cannot load it.
        """
        import mlflow.pyfunc
        from mlflow.exceptions import MlflowException

        try:
            with self._process_wide_store():
                return mlflow.pyfunc.load_model(model_uri)
        except MlflowException as error:
            raise RuntimeError(f"cannot load {model_uri} from {self.uri}: {error.message}") from None

    @contextlib.contextmanager
    def _process_wide_store(self) -> Iterator[None]:
        """Point MLflow's process-wide tracking URI at this store for a block, then restore it exactly.

        Model logging and model-version creation resolve ``models:/`` URIs through the process-wide
        setting, not the client's; leaving our store pinned there would leak into later calls.
        """
        import mlflow
        from mlflow.tracking._tracking_service import utils as tracking_utils

        previous = tracking_utils._tracking_uri  # None when unset
        previous_environment = os.environ.get(TRACKING_ENV)  # set_tracking_uri also exports it
        mlflow.set_tracking_uri(self.uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]
            if previous_environment is None:
                os.environ.pop(TRACKING_ENV, None)
            else:
                os.environ[TRACKING_ENV] = previous_environment

    def register(
        self, name: str, model_uri: str, run_id: str, tags: Mapping[str, Any], description: str = ""
    ) -> str:
        """Create a new version of registered model ``name`` (created if needed); return its number."""
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

        try:
            self.client.get_registered_model(name)
        except MlflowException as error:
            if error.error_code != ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
                raise
            try:
                self.client.create_registered_model(name, description=description or None)
            except MlflowException as creation_error:
                if not _already_exists(creation_error):  # else a concurrent register created it
                    raise
        model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/") else None
        with self._process_wide_store():
            version = self.client.create_model_version(
                name,
                model_uri,
                run_id=run_id,
                tags={key: str(value) for key, value in tags.items()},
                model_id=model_id,
            )
        return str(version.version)

    def alias_version(self, name: str, alias: str) -> tuple[str, dict[str, str]] | None:
        """Return (version, tags) of the version holding ``alias``, or None."""
        from mlflow.exceptions import MlflowException

        try:
            version = self.client.get_model_version_by_alias(name, alias)
        except MlflowException:
            return None
        return str(version.version), dict(version.tags)

    def latest_version(self, name: str) -> tuple[str, dict[str, str]] | None:
        """Return (version, tags) of the newest version of registered model ``name``, or None."""
        versions = self.client.search_model_versions(f"name = '{name}'")
        if not versions:
            return None
        newest = max(versions, key=lambda version: int(version.version))
        return str(newest.version), dict(newest.tags)

    def version_exists(self, name: str, version: str) -> bool:
        """Whether registered model ``name`` has version ``version``."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_model_version(name, version)
        except MlflowException:
            return False
        return True

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``alias`` of registered model ``name`` at ``version``."""
        self.client.set_registered_model_alias(name, alias, version)

    def delete_alias(self, name: str, alias: str) -> None:
        """Take ``alias`` off registered model ``name`` (no version holds it afterwards)."""
        self.client.delete_registered_model_alias(name, alias)

    def describe_registered_model(self, name: str, description: str, tags: Mapping[str, Any]) -> None:
        """Set a registered model's description and tags (what its registry page shows first)."""
        self.client.update_registered_model(name, description=description)
        for key, value in tags.items():
            self.client.set_registered_model_tag(name, key, str(value)[:MAX_TAG_CHARS])

    def describe_version(self, name: str, version: str, description: str) -> None:
        """Set one model version's description (the registry's version page shows it)."""
        self.client.update_model_version(name, version, description=description)

    def set_version_tags(self, name: str, version: str, tags: Mapping[str, Any]) -> None:
        """Tag one model version."""
        for key, value in tags.items():
            self.client.set_model_version_tag(name, version, key, str(value)[:MAX_TAG_CHARS])


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
