"""The project run lock (one run at a time, naming its holder) and stage outputs that are whole or absent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from seqlab import lock
from seqlab.datasets import DatasetConfig
from seqlab.paths import ProjectPaths
from seqlab.stages import staged

HOLD = """
import sys, time
from seqlab import lock
with lock.project_lock(sys.argv[1]):
    print("held", flush=True)
    if sys.argv[2] == "die":
        import os
        os._exit(9)  # killed: no cleanup runs, the kernel drops the OS lock
    time.sleep(float(sys.argv[2]))
"""


def _holder_process(root: Path, how: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root), how], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def test_the_lock_is_reentrant_within_a_process_and_released_after(tmp_path: Path) -> None:
    with lock.project_lock(tmp_path):
        assert lock.holds(tmp_path)
        with lock.project_lock(tmp_path):
            holder = lock.read_holder(tmp_path)
            assert holder is not None and holder.pid == os.getpid()
        assert lock.holds(tmp_path)
    assert not lock.holds(tmp_path)
    assert lock.read_holder(tmp_path) is None


def test_a_second_run_waits_naming_the_holder(tmp_path: Path) -> None:
    holder = _holder_process(tmp_path, "600")
    messages: list[str] = []
    try:
        with (
            pytest.raises(lock.LockTimeout, match=f"PID {holder.pid}"),
            lock.project_lock(tmp_path, timeout=1, log=messages.append),
        ):
            pass
        assert messages and f"PID {holder.pid}" in messages[0] and "waiting" in messages[0]
        assert "-c" in messages[0]  # the holder's command line
    finally:
        holder.kill()
        holder.wait()


def test_a_waiting_run_proceeds_when_the_holder_finishes(tmp_path: Path) -> None:
    holder = _holder_process(tmp_path, "2")
    messages: list[str] = []
    started = time.monotonic()
    with lock.project_lock(tmp_path, timeout=300, log=messages.append):
        current = lock.read_holder(tmp_path)  # it got the lock once the holder let it go
        assert current is not None and current.pid == os.getpid()
    assert messages and time.monotonic() - started < 300
    holder.wait()
    assert not lock.crashed_runs(tmp_path)  # a clean exit leaves nothing to reconcile


def test_a_lock_left_by_a_dead_process_is_taken_over_and_its_record_kept(tmp_path: Path) -> None:
    dead = _holder_process(tmp_path, "die")
    dead.wait()
    assert lock.read_holder(tmp_path) is not None  # its record is still there
    with lock.project_lock(tmp_path, timeout=60):
        holder = lock.read_holder(tmp_path)
        assert holder is not None and holder.pid == os.getpid()
    ((record, crashed),) = lock.crashed_runs(tmp_path)
    assert crashed.pid == dead.pid and record.name == f"{dead.pid}.json"
    assert json.loads(record.read_text())["pid"] == dead.pid


def test_a_torn_holder_record_is_not_trusted(tmp_path: Path) -> None:
    (tmp_path / ".seqlab").mkdir()
    (tmp_path / ".seqlab" / "run.json").write_text("{not json")
    assert lock.read_holder(tmp_path) is None
    with lock.project_lock(tmp_path, timeout=60):
        pass
    assert not lock.crashed_runs(tmp_path)


def _config(name: str = "toy") -> Any:
    return DatasetConfig.model_construct(name=name)


def test_a_failing_stage_leaves_the_previous_outputs_whole(tmp_path: Path) -> None:
    paths = ProjectPaths.at(tmp_path)

    def writes(dataset: DatasetConfig, paths: ProjectPaths, fail: bool = False) -> dict[str, Any]:
        out = paths.results_dir(dataset.name, "evaluate")
        (out / "metrics.json").write_text('{"new": 1}')
        if fail:
            raise RuntimeError("half-way")
        (out / "plots.png").write_text("new")
        return {"ok": True}

    stage = staged("evaluate", writes)
    assert stage(_config(), paths) == {"ok": True}
    final = paths.results_dir("toy", "evaluate")
    assert sorted(item.name for item in final.iterdir()) == ["metrics.json", "plots.png"]
    (final / "metrics.json").write_text('{"old": 1}')
    with pytest.raises(RuntimeError, match="half-way"):
        stage(_config(), paths, fail=True)
    assert (final / "metrics.json").read_text() == '{"old": 1}'  # the previous outputs, not a mix
    assert (final / "plots.png").read_text() == "new"
    assert not final.with_name(".evaluate.partial").exists()  # nothing worth resuming is kept
    assert stage(_config(), paths) == {"ok": True}
    assert (final / "metrics.json").read_text() == '{"new": 1}'


def test_a_resumable_stage_keeps_its_work_for_the_next_try(tmp_path: Path) -> None:
    paths = ProjectPaths.at(tmp_path)
    tries: list[list[str]] = []

    def search(dataset: DatasetConfig, paths: ProjectPaths) -> dict[str, Any]:
        out = paths.results_dir(dataset.name, "tune")
        tries.append(sorted(item.name for item in out.iterdir()))
        if not (out / "trial_1.json").exists():
            (out / "trial_1.json").write_text("{}")
            raise RuntimeError("interrupted after one trial")
        (out / "trials.json").write_text("[]")
        return {}

    stage = staged("tune", search)
    with pytest.raises(RuntimeError):
        stage(_config(), paths)
    assert not paths.results_dir("toy", "tune").exists()  # absent, never half
    stage(_config(), paths)
    assert tries == [[], ["trial_1.json"]]  # the second try resumed the first's work
    assert sorted(item.name for item in paths.results_dir("toy", "tune").iterdir()) == [
        "trial_1.json",
        "trials.json",
    ]
