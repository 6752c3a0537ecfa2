"""The stage graph of dvc.yaml as the Prefect flow reads it for its cache keys."""

from __future__ import annotations

import json
import shutil
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
    assert graph.params_keys(project, "train@caen") == ["datasets.caen", "defaults.giss_station.training"]
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
        "results/giss/baselines/metrics.json",
    ]
    assert not graph.outputs_present(project, "baselines@giss")
    folder = project / "results/giss/baselines"
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text("{}")
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
