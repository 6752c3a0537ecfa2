"""The stage graph as DVC resolves dvc.yaml, read for the Prefect flow's cache keys.

dvc.yaml is the one declaration of what each stage reads (deps, params keys) and writes (outs,
metrics, plots), templated over params.yaml's datasets. DVC itself resolves it (this module never
parses the YAML); the flow keys each task's cache on the content of exactly those deps and the
values of exactly those params, so the flow skips a step when ``dvc repro`` would, and reruns it when
``dvc repro`` would. ``commit`` records the flow's outputs in dvc.lock, so after a default-profile
flow run ``dvc repro`` has nothing to do.

A key also covers the first-party code a stage runs, derived from the imports (``code_closure``), so
an edit to a module the stage only reaches indirectly still reruns it; a unit test checks that
dvc.yaml's deps cover the same files, so ``dvc repro`` reruns it too.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from seqlab.config import Params
from seqlab.fileio import read_dvc_lock_stages, write_json

DVC_FILE = "dvc.yaml"
PARAMS_FILE = "params.yaml"
CHUNK_BYTES = 1 << 20
GRAPH_CACHE = Path(".prefect") / "graph"


def stage_name(step: str, dataset: str) -> str:
    """DVC stage of a pipeline step: dvc.yaml's ``foreach`` names it ``<step>@<dataset>``."""
    return f"{step}@{dataset}"


def _resolve(root: Path) -> dict[str, dict[str, list[str]]]:
    """Every stage as DVC resolves it (templating applied): deps, params keys and outputs."""
    from dvc.repo import Repo

    stages: dict[str, dict[str, list[str]]] = {}
    with Repo(str(root), uninitialized=True) as repo:
        for stage in repo.index.stages:
            deps: list[str] = []
            keys: list[str] = []
            for dependency in stage.deps:
                if hasattr(dependency, "params"):  # a ParamsDependency: its keys, not its file
                    keys.extend(str(key) for key in dependency.params)
                else:
                    deps.append(str(dependency.def_path))
            stages[str(stage.name)] = {
                "cmd": [str(stage.cmd)],
                "deps": deps,
                "params": keys,
                "outs": [str(out.def_path) for out in stage.outs],
            }
    return stages


@lru_cache(maxsize=8)
def _graph(root: str, signature: str) -> dict[str, dict[str, list[str]]]:
    """The resolved graph, remembered per content of dvc.yaml and params.yaml.

    Resolving it imports DVC (about a second); a no-op rerun finds it under ``.prefect/graph/``.
    """
    stages: dict[str, dict[str, list[str]]] = _remembered(
        Path(root) / GRAPH_CACHE / f"{signature}.json", lambda: _resolve(Path(root))
    )
    return stages


def _remembered(cached: Path, compute: Callable[[], Any]) -> Any:
    """``compute()``'s JSON result, kept in ``cached`` (one file per folder: older ones are dropped).

    The file is named by a hash of what the result depends on; a lost or unreadable one is computed
    again, and a failure to write it only costs computing it next time.
    """
    try:
        return json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    result = compute()
    try:
        for old in cached.parent.glob("*.json"):
            old.unlink(missing_ok=True)
        write_json(cached, result)
    except OSError:
        pass
    return result


def stages(root: str | Path) -> dict[str, dict[str, list[str]]]:
    """dvc.yaml's stages, resolved by DVC, keyed by name (``prepare@giss``)."""
    root = Path(root).resolve()
    digest = hashlib.sha256()
    for name in (DVC_FILE, PARAMS_FILE):
        digest.update((root / name).read_bytes())
    return _graph(str(root), digest.hexdigest()[:16])


def stage_spec(root: str | Path, name: str) -> dict[str, list[str]]:
    """The resolved entry of stage ``name``."""
    resolved = stages(root)
    if name not in resolved:
        raise KeyError(
            f"{Path(root) / DVC_FILE}: no stage {name!r}; dvc.yaml's stages come from the datasets of the "
            f"project's {PARAMS_FILE}"
        )
    return resolved[name]


def dependencies(root: str | Path, name: str) -> list[str]:
    """Dependency paths of a stage."""
    return stage_spec(root, name)["deps"]


def params_keys(root: str | Path, name: str) -> list[str]:
    """Dotted params keys a stage reads."""
    return stage_spec(root, name)["params"]


def outputs(root: str | Path, name: str) -> list[str]:
    """Everything a stage writes: outs, metrics and plots."""
    return stage_spec(root, name)["outs"]


def outputs_present(root: str | Path, name: str) -> bool:
    """Whether every output of a stage exists (a cached result is only valid with its files)."""
    return all((Path(root) / path).exists() for path in outputs(root, name))


HASH_CACHE = Path(".prefect") / "file-hashes.json"


class FileHashes:
    """SHA-256 of files, remembered across processes under ``root/.prefect/file-hashes.json``.

    An entry is reused only while the file's size, mtime, ctime and inode are unchanged, which is how
    DVC's own state database skips re-hashing: a no-op rerun then reads no data or model files (the
    IMDB results alone are over 500 MB). A lost or stale entry only costs a re-hash.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.file = self.root / HASH_CACHE
        try:
            loaded = json.loads(self.file.read_text(encoding="utf-8"))
            self.entries: dict[str, list[Any]] = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            self.entries = {}
        self.changed = False

    def sha256(self, file: Path) -> str:
        """Hash of one file, from the cache when its signature is unchanged."""
        stat = file.stat()
        signature = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
        key = str(file.resolve())
        entry = self.entries.get(key)
        if isinstance(entry, list) and len(entry) == 5 and entry[:4] == signature:
            return str(entry[4])
        digest = hashlib.sha256()
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
                digest.update(chunk)
        self.entries[key] = [*signature, digest.hexdigest()]
        self.changed = True
        return digest.hexdigest()

    def content_sha256(self, path: Path) -> str:
        """Hash of a file, or of a folder's relative names and file contents; ``absent`` if missing.

        Bytecode caches are skipped, as in .dvcignore.
        """
        if path.is_file():
            return self.sha256(path)
        if not path.is_dir():
            return "absent"
        digest = hashlib.sha256()
        for folder, subfolders, files in os.walk(path):
            subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
            for name in sorted(files):
                if name.endswith(".pyc"):
                    continue
                file = Path(folder) / name
                digest.update(str(file.relative_to(path)).encode())
                digest.update(self.sha256(file).encode())
        return digest.hexdigest()

    def save(self) -> None:
        """Write the cache (atomically) if a file was hashed afresh; a failure only costs re-hashing.

        Entries of files that no longer exist (old tuner trials, replaced models) are dropped then, so
        the cache does not grow with every run.
        """
        if not self.changed:
            return
        self.entries = {key: entry for key, entry in self.entries.items() if os.path.exists(key)}
        try:
            write_json(self.file, self.entries)
            self.changed = False
        except OSError:
            pass


def outputs_manifest(root: str | Path, name: str) -> dict[str, str]:
    """Content hash of each output of a stage (``absent`` if missing): what a cached result must find.

    A folder's existence says nothing of what is in it. Hashes come from :class:`FileHashes`, so a
    no-op rerun reads no large file.
    """
    hashes = FileHashes(root)
    manifest = {path: hashes.content_sha256(Path(root) / path) for path in outputs(root, name)}
    hashes.save()
    return manifest


SOURCE_FOLDER = Path("src")
PACKAGE = "seqlab"
# Every stage receives its configuration as seqlab.config resolves it (the CLI and the flow both call
# load_params), so that module's code decides what a stage sees, though no stage module imports it.
CONFIG_MODULE = "seqlab.config"
CODE_CACHE = Path(".prefect") / "code"


def stage_modules() -> dict[str, str]:
    """The module implementing each step: what ``seqlab stage NAME`` and the flow call into."""
    from seqlab import recording
    from seqlab.stages import STAGE_FUNCTIONS

    modules = {step: function.__module__ for step, function in STAGE_FUNCTIONS.items()}
    modules["register"] = recording.__name__
    return modules


def _source_modules(root: Path) -> dict[str, Path]:
    """Dotted name → file of each module of the package's source under ``root`` (a package: its __init__)."""
    package = root / SOURCE_FOLDER / PACKAGE
    if not (package / "__init__.py").is_file():
        raise FileNotFoundError(
            f"{package}: no package {PACKAGE}; stage keys cover the code of the project at {root}"
        )
    modules: dict[str, Path] = {}
    for file in sorted(package.rglob("*.py")):
        if "__pycache__" in file.parts:
            continue
        parts = file.relative_to(root / SOURCE_FOLDER).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = file
    return modules


def _imported(name: str, file: Path, modules: dict[str, Path]) -> set[str]:
    """First-party modules a module imports anywhere (seqlab imports lazily, inside functions).

    ``from package import name`` counts the package and, when ``name`` is a submodule, that too; a
    string that names a module (``importlib.import_module``) counts as well: over-approximate.
    """
    is_package = file.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(file.read_bytes(), filename=str(file))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            for alias in node.names:
                if alias.name == "*":  # imports the submodules its __all__ names: count them all
                    found.update(module for module in modules if module.startswith(f"{base}."))
                else:
                    found.add(f"{base}.{alias.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
    return found & modules.keys()


def _closure(roots: set[str], imports: dict[str, set[str]]) -> set[str]:
    """Every module loaded with ``roots``: what they import, transitively, and each one's packages."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        module = pending.pop()
        if module in seen or module not in imports:
            continue
        seen.add(module)
        parts = module.split(".")
        pending.extend(".".join(parts[:end]) for end in range(1, len(parts)))  # their __init__ runs first
        pending.extend(imports[module])
    return seen


def _closures(root: Path, roots: dict[str, str]) -> dict[str, list[str]]:
    """Each step's code closure as source files relative to ``root``."""
    modules = _source_modules(root)
    imports = {name: _imported(name, file, modules) for name, file in modules.items()}
    return {
        step: sorted(
            modules[module].relative_to(root).as_posix()
            for module in _closure({module, CONFIG_MODULE}, imports)
        )
        for step, module in roots.items()
    }


@lru_cache(maxsize=8)
def _cached_closures(root: str, signature: str, roots: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
    """The closures, remembered per content of the source (parsing it all takes about 0.1 s)."""
    closures: dict[str, list[str]] = _remembered(
        Path(root) / CODE_CACHE / f"{signature}.json", lambda: _closures(Path(root), dict(roots))
    )
    return closures


def code_closure(root: str | Path, step: str, hashes: FileHashes | None = None) -> list[str]:
    """Source files (relative to ``root``) of the seqlab modules a step may run, found from the imports.

    The step's module and seqlab.config, every ``seqlab`` module they import anywhere, transitively,
    and the packages' ``__init__`` on the way: a stage reruns when code it only reaches indirectly
    changes. The files read are the project's at ``root`` (tests run on copies), not the installed
    package's.
    """
    root = Path(root).resolve()
    roots = stage_modules()
    if step not in roots:
        raise KeyError(f"no step {step!r}; the steps are {', '.join(roots)}")
    own = hashes is None
    hashes = hashes or FileHashes(root)
    digest = hashlib.sha256(json.dumps(sorted(roots.items())).encode())
    for module, file in sorted(_source_modules(root).items()):
        digest.update(f"\0{module} {hashes.sha256(file)}".encode())
    if own:
        hashes.save()
    return list(_cached_closures(str(root), digest.hexdigest()[:16], tuple(sorted(roots.items())))[step])


def stage_key(root: str | Path, name: str, params: Params, dataset: str, extra: str = "") -> str:
    """Cache key of a stage: its name, its deps' and code's content, its params' values (plus ``extra``).

    dvc.yaml names params keys as params.yaml lays them out; the values keyed are what the run uses
    (defaults merged, profile and overrides applied): :meth:`seqlab.config.Params.value_of`.
    """
    digest = hashlib.sha256(name.encode())
    hashes = FileHashes(root)
    for path in dependencies(root, name):
        digest.update(f"\0dep {path} {hashes.content_sha256(Path(root) / path)}".encode())
    for path in code_closure(root, name.partition("@")[0], hashes):
        digest.update(f"\0code {path} {hashes.content_sha256(Path(root) / path)}".encode())
    hashes.save()
    for key in params_keys(root, name):
        value = params.value_of(key, dataset)
        digest.update(f"\0param {key} {json.dumps(value, sort_keys=True)}".encode())
    digest.update(f"\0extra {extra}".encode())
    return digest.hexdigest()


def lock_entries_sha256(root: str | Path, names: list[str]) -> str:
    """Hash of what dvc.lock records for these stages (``absent`` without a lock)."""
    lock = Path(root) / "dvc.lock"
    if not lock.exists():
        return "absent"
    stages = read_dvc_lock_stages(lock)
    entries = {name: stages.get(name) for name in names}
    return hashlib.sha256(json.dumps(entries, sort_keys=True, default=str).encode()).hexdigest()


def commit(root: str | Path, names: list[str]) -> None:
    """Record the stages' current deps, params and outs in dvc.lock (``dvc commit --force``).

    Run as the ``dvc`` command in ``root``: DVC resolves stages and paths from the working directory.
    """
    import shutil
    import subprocess
    import sys

    dvc = shutil.which("dvc") or str(Path(sys.executable).with_name("dvc"))
    result = subprocess.run(
        [dvc, "commit", "--force", "--quiet", *names],
        cwd=Path(root).resolve(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"dvc commit {' '.join(names)} failed in {root}:\n{result.stdout}{result.stderr}")


DATA_HASH_CACHE = Path(".prefect") / "data-hashes"
DATA_STEPS = ("fetch", "prepare")  # the stages whose outputs are a dataset's data (raw, prepared)


def data_hashes(root: str | Path, dataset: str) -> dict[str, str]:
    """DVC's hashes (md5, ``.dir`` for a folder) of a dataset's raw and prepared data as they stand.

    The ``seqlab.dvc.<path>`` tags of a run of any profile, the values dvc.lock would record, so a
    run is tied to its exact data whether or not dvc.lock describes it. Computed by DVC (its state
    database spares re-reading unchanged files) and remembered per content of those outputs, so a
    no-op rerun does not import DVC for it.
    """
    root = Path(root).resolve()
    names = [stage_name(step, dataset) for step in DATA_STEPS]
    content = json.dumps([outputs_manifest(root, name) for name in names], sort_keys=True)

    def compute() -> dict[str, str]:
        from dvc.repo import Repo

        hashes: dict[str, str] = {}
        with Repo(str(root), uninitialized=True) as repo:  # a copy outside git (benchmarks) too
            for stage in repo.index.stages:
                if stage.name in names:
                    for out in stage.outs:
                        if (root / str(out.def_path)).exists():
                            hashes[f"seqlab.dvc.{out.def_path}"] = str(out.get_hash().value)
        return hashes

    digest = hashlib.sha256(content.encode()).hexdigest()[:16]
    remembered: dict[str, str] = _remembered(root / DATA_HASH_CACHE / dataset / f"{digest}.json", compute)
    return remembered
