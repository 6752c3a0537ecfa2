"""seqlab.fileio.read_yaml: a machine-written file (dvc.lock) that does not parse is named, with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqlab.errors import CorruptStateError
from seqlab.fileio import read_yaml

LOCK = "schema: '2.0'\nstages:\n  fetch@giss:\n    cmd: seqlab stage fetch --dataset giss\n"


def test_a_valid_file_is_read_and_reread_after_a_change(tmp_path: Path) -> None:
    path = tmp_path / "dvc.lock"
    path.write_text(LOCK, encoding="utf-8")
    assert read_yaml(path)["stages"]["fetch@giss"]["cmd"] == "seqlab stage fetch --dataset giss"
    path.write_text(LOCK + "  validate@giss:\n    cmd: x\n", encoding="utf-8")
    assert set(read_yaml(path)["stages"]) == {"fetch@giss", "validate@giss"}


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        (LOCK.encode() + b"  prepare@giss:\n    deps: [a, b\n", 7, "invalid YAML"),  # cut short
        (LOCK.encode() + b"    outs: \x07\n", 5, "invalid YAML"),  # a control character
        (LOCK.encode() + b"  # caf\xe9\n", 5, "not UTF-8"),
    ],
)
def test_a_corrupt_file_fails_naming_file_and_line(
    tmp_path: Path, content: bytes, line: int, problem: str
) -> None:
    path = tmp_path / "dvc.lock"
    path.write_bytes(content)
    with pytest.raises(ValueError) as caught:
        read_yaml(path)
    assert isinstance(caught.value, CorruptStateError)
    message = str(caught.value)
    assert message.startswith(f"{path.resolve()}, line {line}: {problem}")
    assert "restore it from version control, or delete it" in message

    path.write_text(LOCK, encoding="utf-8")  # repaired: read again, not a cached failure
    assert "fetch@giss" in read_yaml(path)["stages"]


def test_a_dvc_lock_of_another_shape_is_named(tmp_path: Path) -> None:
    from seqlab.fileio import read_dvc_lock_stages

    lock = tmp_path / "dvc.lock"
    assert read_dvc_lock_stages(lock) == {}
    lock.write_text("- just\n- a list\n")
    with pytest.raises(CorruptStateError, match="dvc.lock: not a dvc.lock"):
        read_dvc_lock_stages(lock)
    lock.write_text("schema: '2.0'\nstages:\n  fetch@x: {cmd: c}\n")
    assert read_dvc_lock_stages(lock) == {"fetch@x": {"cmd": "c"}}
