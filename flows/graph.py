"""The stage graph as dvc.yaml declares it, read for the Prefect flow's cache keys.

dvc.yaml is the one declaration of what each stage reads (deps, params keys) and writes (outs,
metrics, plots). The flow keys each task's cache on the content of exactly those deps and the values
of exactly those params, so the flow skips a step when ``dvc repro`` would, and reruns it when
``dvc repro`` would. ``commit`` records the flow's outputs in dvc.lock, so after a default-profile
flow run ``dvc repro`` has nothing to do.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from seqlab.config import Params
from seqlab.fileio import read_yaml, write_json

DVC_FILE = "dvc.yaml"
CHUNK_BYTES = 1 << 20


def stage_name(step: str, dataset: str) -> str:
    """DVC stage of a pipeline step (the synthetic series is generated, not fetched)."""
    if step == "fetch" and dataset == "synthetic":
        return "generate_synthetic"
    return f"{step}_{dataset}"


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> dict[str, Any]:
    stages = (read_yaml(path) or {}).get("stages") or {}
    if not isinstance(stages, dict):
        raise ValueError(f"{path}: 'stages' must be a mapping")
    return stages


def stage_spec(root: str | Path, name: str) -> dict[str, Any]:
    """The dvc.yaml entry of stage ``name``."""
    path = Path(root) / DVC_FILE
    stages = _load(str(path), path.stat().st_mtime_ns)
    if name not in stages:
        raise KeyError(f"{path}: no stage {name!r}")
    spec: dict[str, Any] = stages[name]
    return spec


def _entries(items: list[Any] | None) -> list[str]:
    """Paths (or keys) of a dvc.yaml list whose items are strings or one-key mappings."""
    names: list[str] = []
    for item in items or []:
        names.extend(item.keys() if isinstance(item, dict) else [item])
    return [str(name) for name in names]


def dependencies(root: str | Path, name: str) -> list[str]:
    """Dependency paths of a stage."""
    return _entries(stage_spec(root, name).get("deps"))


def params_keys(root: str | Path, name: str) -> list[str]:
    """Dotted params keys a stage reads."""
    return _entries(stage_spec(root, name).get("params"))


def outputs(root: str | Path, name: str) -> list[str]:
    """Everything a stage writes: outs, metrics and plots."""
    spec = stage_spec(root, name)
    return [*_entries(spec.get("outs")), *_entries(spec.get("metrics")), *_entries(spec.get("plots"))]


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


def param_value(params: Params, key: str) -> Any:
    """Value of a dotted key in the effective params (profile and overrides applied)."""
    node: Any = params.model_dump(mode="json")
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"dvc.yaml names params key {key!r}, which params.yaml does not have")
        node = node[part]
    return node


def stage_key(root: str | Path, name: str, params: Params, extra: str = "") -> str:
    """Cache key of a stage: its name, its deps' content and its params' values (plus ``extra``)."""
    digest = hashlib.sha256(name.encode())
    hashes = FileHashes(root)
    for path in dependencies(root, name):
        digest.update(f"\0dep {path} {hashes.content_sha256(Path(root) / path)}".encode())
    hashes.save()
    for key in params_keys(root, name):
        digest.update(f"\0param {key} {json.dumps(param_value(params, key), sort_keys=True)}".encode())
    digest.update(f"\0extra {extra}".encode())
    return digest.hexdigest()


def lock_entries_sha256(root: str | Path, names: list[str]) -> str:
    """Hash of what dvc.lock records for these stages (``absent`` without a lock)."""
    lock = Path(root) / "dvc.lock"
    if not lock.exists():
        return "absent"
    stages = (read_yaml(lock) or {}).get("stages") or {}
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
