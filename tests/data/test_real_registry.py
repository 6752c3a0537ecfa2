"""The registry's kinds on the real files of the mirror, through the command a user types.

The book's one-value-per-line CET copy as a second `hadcet_daily` dataset beside the Met Office
grid, SeaTac under its GHCN id, and MNIST's official test set: fetched, described, validated and
prepared by `seqlab` with nothing but a params.yaml entry.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from seqlab.cli import run

REPO = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("SEQLAB_DATA_MIRROR", REPO.parent / "shared" / "data"))

pytestmark = [
    pytest.mark.data,
    pytest.mark.skipif(not (MIRROR / "mnist").is_dir(), reason=f"no data mirror at {MIRROR}"),
]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root whose params.yaml adds the book's CET file as dataset cet_book."""
    monkeypatch.setenv("SEQLAB_DATA_MIRROR", str(MIRROR))
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["datasets"]["cet_book"] = {
        "source": {"kind": "hadcet_daily", "file": "tdaily_cet.dat.txt"},
        "end_date": "2020-03-23",
        "split_index": 80000,
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return tmp_path


def seqlab(root: Path, *arguments: str) -> int:
    return run(["--root", str(root), "--params", str(root / "params.yaml"), *arguments])


def describe(root: Path, dataset: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert seqlab(root, "describe", dataset, "--json") == 0
    summary: dict[str, Any] = json.loads(capsys.readouterr().out)
    return summary


def test_both_cet_layouts_give_the_same_protocol(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for dataset in ("cet", "cet_book"):
        for stage in ("fetch", "validate", "prepare"):
            assert seqlab(project, "stage", stage, "--dataset", dataset) == 0, (dataset, stage)
    grid, book = describe(project, "cet", capsys), describe(project, "cet_book", capsys)
    assert (grid["first_date"], grid["last_date"], grid["valid_records"]) == ("1772-01-01", "2021-02-28", 91005)
    assert (book["first_date"], book["last_date"], book["valid_records"]) == ("1772-01-01", "2022-07-10", 91502)
    manifests = {
        name: json.loads((project / "data/prepared" / name / "manifest.json").read_text())
        for name in ("cet", "cet_book")
    }
    assert manifests["cet"]["series"]["test_period"] == manifests["cet_book"]["series"]["test_period"]
    values = {
        name: np.load(project / "data/prepared" / name / "windows.npz")["values"] for name in ("cet", "cet_book")
    }
    np.testing.assert_allclose(values["cet"], values["cet_book"], atol=1e-9)  # equal on every shared day


def test_seatac_by_its_ghcn_id_and_mnist_test_set(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for dataset in ("giss", "mnist"):
        assert seqlab(project, "fetch", dataset) == 0
    lock = json.loads((project / "data" / "sources.lock.json").read_text())
    assert set(lock["giss"]) == {"USW00024233.csv"}
    assert set(lock["mnist"]) == {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}

    mnist = describe(project, "mnist", capsys)
    assert mnist["valid_records"] == 10000 and mnist["image_shape"] == [28, 28]
    counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert mnist["test"]["digit_counts"] == {str(digit): count for digit, count in enumerate(counts)}
    assert mnist["sha256_matches_lock"] is True and "train" not in mnist

    giss = describe(project, "giss", capsys)
    assert (giss["first_date"], giss["last_date"], giss["valid_records"]) == ("1950-01", "2024-09", 897)

    assert seqlab(project, "stage", "validate", "--dataset", "mnist") == 0
    assert seqlab(project, "stage", "prepare", "--dataset", "mnist") == 0
    manifest = json.loads((project / "data/prepared/mnist/manifest.json").read_text())
    assert manifest["protocol"] == "test_set_split"
    totals = {name: manifest["counts"][name]["total"] for name in ("train", "validation", "test")}
    assert totals == {"train": 6400, "validation": 1600, "test": 2000}
    per_class = np.array(manifest["counts"]["test"]["per_class"])
    np.testing.assert_allclose(per_class / per_class.sum(), np.array(counts) / 10000, atol=0.001)  # stratified
