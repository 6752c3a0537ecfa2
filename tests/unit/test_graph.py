"""The stage graph of dvc.yaml as the Prefect flow reads it for its cache keys."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from flows import graph
from seqlab.config import load_params
from seqlab.stages import STAGES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """dvc.yaml, params.yaml and the sources the stages name, copied into a scratch folder."""
    for name in ("dvc.yaml", "params.yaml", "data/sources.lock.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.mark.parametrize("profile", ["default", "smoke", "full"])
def test_every_step_of_every_dataset_is_a_stage_whose_params_exist(profile: str) -> None:
    params = load_params(REPO / "params.yaml", profile=profile)
    resolved = graph.stages(REPO)
    assert set(resolved) == {graph.stage_name(step, name) for step in STAGES for name in params.datasets}
    produced = {out for spec in resolved.values() for out in spec["outs"]}
    for dataset in params.datasets:
        for step in STAGES:
            name = graph.stage_name(step, dataset)
            assert resolved[name]["cmd"] == [f"seqlab stage {step} --dataset {dataset}"], name
            for key in graph.params_keys(REPO, name):
                params.value_of(key, dataset)  # raises if dvc.yaml names a key the params lack
            for dependency in graph.dependencies(REPO, name):
                made = any(dependency == out or dependency.startswith(f"{out}/") for out in produced)
                assert made or (REPO / dependency).exists(), (
                    f"{name}: {dependency} is neither source nor output"
                )


def test_a_dataset_added_to_params_gets_every_stage_without_editing_dvc_yaml(project: Path) -> None:
    params_file = project / "params.yaml"
    raw = yaml.safe_load(params_file.read_text())
    raw["datasets"]["caen"] = {
        "source": {"kind": "giss_station", "station": "FRM00007027"},
        "end_date": "2019-12-01",
        "test_size": 48,
    }
    params_file.write_text(yaml.safe_dump(raw, sort_keys=False))
    resolved = graph.stages(project)
    assert {name for name in resolved if name.endswith("@caen")} == {f"{step}@caen" for step in STAGES}
    assert graph.params_keys(project, "train@caen") == [
        "datasets.caen",
        "defaults.giss_station.baselines",
        "defaults.giss_station.training",
    ]
    assert graph.outputs(project, "prepare@caen") == ["data/prepared/caen"]
    # the resolved graph is remembered per content of dvc.yaml and params.yaml
    assert list((project / graph.GRAPH_CACHE).glob("*.json"))


def test_key_follows_exactly_the_params_a_stage_reads(project: Path) -> None:
    base = load_params(project / "params.yaml")
    key = graph.stage_key(project, "train@synthetic", base, "synthetic")
    assert key == graph.stage_key(project, "train@synthetic", base, "synthetic")
    changed = load_params(project / "params.yaml", ["datasets.synthetic.training.epochs=7"])
    assert graph.stage_key(project, "train@synthetic", changed, "synthetic") != key
    assert graph.stage_key(project, "tune@synthetic", changed, "synthetic") == graph.stage_key(
        project, "tune@synthetic", base, "synthetic"
    )
    unrelated = load_params(project / "params.yaml", ["defaults.giss_station.training.epochs=7"])
    assert graph.stage_key(project, "train@synthetic", unrelated, "synthetic") == key
    # a profile's kind-wide value is what the run uses, so it is what the key follows
    smoke = load_params(project / "params.yaml", profile="smoke")
    assert graph.stage_key(project, "train@synthetic", smoke, "synthetic") != key


def test_key_follows_the_content_of_deps(project: Path) -> None:
    params = load_params(project / "params.yaml")
    before = graph.stage_key(project, "train@synthetic", params, "synthetic")
    trials = project / "results/synthetic/tune/trials.json"
    trials.parent.mkdir(parents=True)
    trials.write_text("{}")
    after = graph.stage_key(project, "train@synthetic", params, "synthetic")
    assert after != before
    trials.write_text('{"best": null}')
    assert graph.stage_key(project, "train@synthetic", params, "synthetic") != after
    (project / "src/seqlab/models/__pycache__").mkdir(exist_ok=True)
    (project / "src/seqlab/models/__pycache__/x.pyc").write_bytes(b"bytecode")
    key = graph.stage_key(project, "train@synthetic", params, "synthetic")
    (project / "src/seqlab/models/__pycache__/y.pyc").write_bytes(b"more bytecode")
    assert graph.stage_key(project, "train@synthetic", params, "synthetic") == key  # bytecode is not source


def test_outputs_present_needs_every_output(project: Path) -> None:
    assert graph.outputs(project, "baselines@giss") == [
        "results/giss/baselines/predictions.npz",
        "results/giss/baselines/scores.json",
    ]
    assert not graph.outputs_present(project, "baselines@giss")
    folder = project / "results/giss/baselines"
    folder.mkdir(parents=True)
    (folder / "scores.json").write_text("{}")
    assert not graph.outputs_present(project, "baselines@giss")
    (folder / "predictions.npz").write_bytes(b"")
    assert graph.outputs_present(project, "baselines@giss")


def test_unknown_stage_and_key_are_named(project: Path) -> None:
    with pytest.raises(KeyError, match="train@nowhere"):
        graph.stage_spec(project, "train@nowhere")
    with pytest.raises(KeyError, match="synthetic.nope"):
        load_params(project / "params.yaml").value_of("datasets.synthetic.nope", "synthetic")
    assert graph.stage_name("fetch", "cet") == "fetch@cet"


def test_file_hashes_are_remembered_across_processes_until_the_file_changes(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"a" * 1000)
    first = graph.FileHashes(tmp_path)
    original = first.sha256(data)
    first.save()
    assert (tmp_path / graph.HASH_CACHE).is_file()

    # a new reader (another process) takes the stored hash without reading the file: prove it by
    # planting a wrong hash under the file's current signature
    entries = graph.FileHashes(tmp_path).entries
    entries[str(data.resolve())][4] = "planted"
    (tmp_path / graph.HASH_CACHE).write_text(json.dumps(entries))
    assert graph.FileHashes(tmp_path).sha256(data) == "planted"

    # same size, new content: the signature (mtime/ctime) changes, so the file is hashed again
    data.write_bytes(b"b" * 1000)
    again = graph.FileHashes(tmp_path)
    changed = again.sha256(data)
    assert changed not in (original, "planted") and again.changed

    # entries of deleted files are dropped when the cache is next written
    gone = tmp_path / "gone.bin"
    gone.write_bytes(b"x")
    again.sha256(gone)
    again.save()
    gone.unlink()
    later = graph.FileHashes(tmp_path)
    (tmp_path / "new.bin").write_bytes(b"y")
    later.sha256(tmp_path / "new.bin")  # a fresh hash makes the next save write
    later.save()
    assert str(gone.resolve()) not in graph.FileHashes(tmp_path).entries
    assert str(data.resolve()) in graph.FileHashes(tmp_path).entries

    # a damaged cache file is ignored, not an error
    (tmp_path / graph.HASH_CACHE).write_text("{not json")
    assert graph.FileHashes(tmp_path).sha256(data) == changed


def test_key_with_remembered_hashes_still_follows_a_changed_dep(project: Path) -> None:
    params = load_params(project / "params.yaml")
    name = graph.stage_name("prepare", "synthetic")
    before = graph.stage_key(project, name, params, "synthetic")
    assert (project / graph.HASH_CACHE).is_file()
    assert graph.stage_key(project, name, params, "synthetic") == before
    source = next(path for path in graph.dependencies(project, name) if path.endswith(".py"))
    (project / source).write_text((project / source).read_text() + "\n# changed\n")
    assert graph.stage_key(project, name, params, "synthetic") != before


def _covered(path: str, deps: list[str]) -> bool:
    return any(path == dep or path.startswith(f"{dep}/") for dep in deps)


def test_dvc_yaml_deps_cover_the_code_each_stage_imports() -> None:
    """What keeps the hand-written deps honest: each stage's import closure is in its deps."""
    missing = {}
    for name in graph.stages(REPO):
        closure = graph.code_closure(REPO, name.partition("@")[0])
        assert "src/seqlab/fileio.py" in closure and "src/seqlab/config.py" in closure, (name, closure)
        uncovered = [path for path in closure if not _covered(path, graph.dependencies(REPO, name))]
        if uncovered:
            missing[name] = uncovered
    assert not missing, "dvc.yaml's deps miss code the stage imports (add them to the stage's deps):\n" + (
        "\n".join(f"{name}: {', '.join(paths)}" for name, paths in missing.items())
    )


def test_code_closure_follows_indirect_and_lazy_imports_of_the_project_at_root(project: Path) -> None:
    fetch = graph.code_closure(project, "fetch")
    # stages.data → datasets, which imports each parser inside a function; cet.py imports giss.py
    for path in ("stages/data.py", "stages/__init__.py", "__init__.py", "data/cet.py", "data/giss.py"):
        assert f"src/seqlab/{path}" in fetch, path
    assert "src/seqlab/tracking.py" not in fetch and "src/seqlab/cli.py" not in fetch
    assert "src/seqlab/tracking.py" in graph.code_closure(project, "register")
    with pytest.raises(KeyError, match="nowhere"):
        graph.code_closure(project, "nowhere")

    # A module that exists only in this copy, imported lazily and relatively by a module only register
    # runs, joins register's closure alone: the files read are the copy's, and the closure follows them.
    package = project / "src/seqlab"
    (package / "helper_only_here.py").write_text('"""A helper."""\n')
    registry = package / "registry.py"
    registry.write_text(
        f"{registry.read_text()}\n\ndef _late() -> None:\n    from . import helper_only_here\n"
    )
    assert "src/seqlab/helper_only_here.py" in graph.code_closure(project, "register")
    assert "src/seqlab/helper_only_here.py" not in graph.code_closure(project, "tune")
    # a subpackage's __init__ runs when one of its modules is imported
    (package / "extras").mkdir()
    (package / "extras/__init__.py").write_text("from seqlab import tracking\n")
    (package / "extras/tool.py").write_text("X = 1\n")
    train = package / "training.py"
    train.write_text(f"{train.read_text()}\n\ndef _tool() -> None:\n    import seqlab.extras.tool\n")
    tune = graph.code_closure(project, "tune")
    for path in ("extras/tool.py", "extras/__init__.py", "tracking.py"):
        assert f"src/seqlab/{path}" in tune, path
    assert list((project / graph.CODE_CACHE).glob("*.json"))  # remembered per content of the source


def test_key_follows_code_that_dvc_yaml_does_not_list(project: Path) -> None:
    """The key covers the import closure by itself, whatever the src deps of dvc.yaml say."""
    dvc_file = project / "dvc.yaml"
    dvc_file.write_text(
        "".join(line for line in dvc_file.read_text().splitlines(True) if "- src/seqlab" not in line)
    )
    assert not any(dep.startswith("src/") for dep in graph.dependencies(project, "tune@synthetic"))
    params = load_params(project / "params.yaml")

    def keys() -> dict[str, str]:
        return {
            step: graph.stage_key(project, graph.stage_name(step, "synthetic"), params, "synthetic")
            for step in STAGES
        }

    before = keys()
    training = project / "src/seqlab/training.py"
    training.write_text(training.read_text() + "\n# edited\n")
    after_training = keys()
    assert after_training["tune"] != before["tune"]
    tracking = project / "src/seqlab/tracking.py"
    tracking.write_text(tracking.read_text() + "\n# edited\n")
    after_tracking = keys()
    assert [step for step in STAGES if after_tracking[step] != after_training[step]] == ["register"]


def test_outputs_manifest_follows_the_content_of_output_folders(project: Path) -> None:
    name = graph.stage_name("prepare", "synthetic")
    assert graph.outputs_manifest(project, name) == {"data/prepared/synthetic": "absent"}
    folder = project / "data/prepared/synthetic"
    folder.mkdir(parents=True)
    empty = graph.outputs_manifest(project, name)
    assert empty["data/prepared/synthetic"] != "absent"
    (folder / "arrays.npz").write_bytes(b"a" * 100)
    (folder / "nested").mkdir()
    (folder / "nested/manifest.json").write_text("{}")
    written = graph.outputs_manifest(project, name)
    assert written != empty and graph.outputs_manifest(project, name) == written

    (folder / "arrays.npz").write_bytes(b"b" * 100)  # changed, same size
    changed = graph.outputs_manifest(project, name)
    (folder / "extra.txt").write_text("x")  # added
    added = graph.outputs_manifest(project, name)
    (folder / "nested/manifest.json").unlink()  # deleted
    deleted = graph.outputs_manifest(project, name)
    assert len({str(item) for item in (written, changed, added, deleted)}) == 4

    # An unchanged file is not read again: a planted hash under its current signature is what counts.
    entries = json.loads((project / graph.HASH_CACHE).read_text())
    entries[str((folder / "arrays.npz").resolve())][4] = "planted"
    (project / graph.HASH_CACHE).write_text(json.dumps(entries))
    assert graph.outputs_manifest(project, name) != deleted

    metrics = graph.outputs_manifest(project, graph.stage_name("baselines", "giss"))
    assert metrics == {
        "results/giss/baselines/predictions.npz": "absent",
        "results/giss/baselines/scores.json": "absent",
    }


def test_git_ignores_exactly_the_outputs_dvc_caches() -> None:
    """Small `cache: false` outputs are committed with dvc.lock; DVC-cached ones go to the remote.

    A cached output git did not ignore would be committed twice (DVC would also write a stray
    .gitignore beside it); an uncached one git ignored would be in no one's clone, and a teammate's
    `dvc status` would call it deleted.
    """
    from dvc.repo import Repo

    with Repo(str(REPO), uninitialized=True) as repo:
        outs = {str(out.def_path): bool(out.use_cache) for stage in repo.index.stages for out in stage.outs}
    assert any(outs.values()) and not all(outs.values())

    def ignored(path: str) -> bool:
        checked = subprocess.run(
            ["git", "check-ignore", "--no-index", "--stdin"],
            cwd=REPO,
            input=f"{path}\n{path}/\n",
            capture_output=True,
            text=True,
        )
        return bool(checked.stdout.strip())

    wrong = {
        path: ("cached but not git-ignored" if cached else "in git's ignore list but not cached")
        for path, cached in outs.items()
        if ignored(path) != cached
    }
    assert not wrong, f".gitignore and dvc.yaml disagree: {wrong}"
