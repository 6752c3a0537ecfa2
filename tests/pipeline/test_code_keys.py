"""An edited module reruns exactly the stages whose code imports it, in the flow's keys and in DVC.

A clean git copy of the project with dvc.lock recording CET's stages over stand-in outputs (no stage
runs, so ``dvc status`` compares deps and params only); real DVC. The keys are checked for every
dataset, DVC for CET's stages (committing all 40 stages takes DVC 20 s, CET's 8 under 2 s). The flow
rerunning the right steps for real is in test_flows.py (test_rerun_skips_every_cached_step_...).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows import graph
from seqlab.config import load_params
from seqlab.stages import STAGES
from tests.pipeline.helpers import clean_copy, run_command

pytestmark = [pytest.mark.slow, pytest.mark.pipeline]

DVC_DATASET = "cet"
EVERY_STAGE = frozenset(STAGES)
# The steps an edit must rerun, for every dataset: seqlab.stages imports every stage module and
# seqlab.modalities every modality, so most code is in every closure; the MLflow side is register's.
EDITS: dict[str, frozenset[str]] = {
    "src/seqlab/fileio.py": EVERY_STAGE,  # tune's module does not import it; what that imports does
    "src/seqlab/data/giss.py": EVERY_STAGE,  # CET's steps too: cet.py imports it, datasets imports cet.py
    "src/seqlab/training.py": EVERY_STAGE,  # tune through seqlab.tuning, the others through seqlab.stages
    "src/seqlab/tracking.py": frozenset({"register"}),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A clean copy whose dvc.lock records CET's stages over stand-in outputs: ``dvc status`` is clean."""
    root, env = clean_copy(tmp_path_factory.mktemp("code-keys"))
    names = _dvc_stages(root)
    for name in names:
        for output in graph.outputs(root, name):
            path = root / output
            if path.suffix:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"stand-in for {name}\n")
            else:
                path.mkdir(parents=True, exist_ok=True)
                (path / "stand-in.txt").write_text(f"stand-in for {name}\n")
    graph.commit(root, names)
    assert _dvc_changed(root, env) == set()
    return root, env


def _dvc_stages(root: Path) -> list[str]:
    return [graph.stage_name(step, DVC_DATASET) for step in STAGES]


def _keys(root: Path) -> dict[str, str]:
    params = load_params(root / "params.yaml")
    names = {graph.stage_name(step, dataset): dataset for dataset in params.datasets for step in STAGES}
    return {name: graph.stage_key(root, name, params, dataset) for name, dataset in names.items()}


def _dvc_changed(root: Path, env: dict[str, str]) -> set[str]:
    status = run_command(["dvc", "status", "--json", *_dvc_stages(root)], root, env, stdout_only=True)
    return set(json.loads(status))


@pytest.mark.parametrize("module", list(EDITS))
def test_an_edited_module_reruns_exactly_the_stages_that_import_it(
    project: tuple[Path, dict[str, str]], module: str
) -> None:
    root, env = project
    datasets = list(load_params(root / "params.yaml").datasets)
    expected = {graph.stage_name(step, dataset) for step in EDITS[module] for dataset in datasets}
    assert "giss" in datasets and "cet" in datasets
    before = _keys(root)
    path = root / module
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# edited\n")
        after = _keys(root)
        assert {name for name in before if after[name] != before[name]} == expected, module
        assert _dvc_changed(root, env) == {name for name in expected if name.endswith(f"@{DVC_DATASET}")}
    finally:
        path.write_bytes(original)
    assert _keys(root) == before  # keys follow content, not modification times
