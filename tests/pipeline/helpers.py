"""Helpers of the end-to-end tests: a clean git copy of the project, running commands in it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("SEQLAB_DATA_MIRROR", REPO.parent / "shared" / "data"))


def run_command(
    command: list[str], cwd: Path, env: dict[str, str], timeout: int = 900, stdout_only: bool = False
) -> str:
    """Run a command and return its output (stdout and stderr unless ``stdout_only``); fail if it fails."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout if stdout_only else result.stdout + result.stderr


def clean_copy(parent: Path) -> tuple[Path, dict[str, str]]:
    """A git repository holding exactly the project's tracked (and new, unignored) files."""
    root = parent / "seqlab"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if name == "dvc.lock" or name.startswith("results/"):  # this checkout's own runs, not the project's
            continue
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    for path in (root / "data" / "raw", root / "data" / "prepared", root / "results"):
        assert not path.exists(), "the clean copy must not carry data or results"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "SEQLAB_DATA_MIRROR": str(MIRROR),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_HOME": str(parent / "prefect-home"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{parent / 'mlflow.db'}",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    run_command(["git", "init", "-q"], root, env)
    run_command(["git", "add", "-A"], root, env)
    run_command(["git", "commit", "-q", "-m", "clean copy"], root, env)
    return root, env


def bake_profile(params_file: Path, profile: str, kind: str) -> None:
    """Write a profile's overrides of one kind's defaults into params.yaml itself (what dvc repro reads).

    ``dvc repro`` knows no profiles: a test that wants the smoke budgets there writes them in.
    """
    import yaml

    raw = yaml.safe_load(params_file.read_text())
    prefix = f"defaults.{kind}."
    for key, value in raw["profiles"][profile].items():
        if key.startswith(prefix):
            node = raw["defaults"][kind]
            *parents, last = key.removeprefix(prefix).split(".")
            for part in parents:
                node = node[part]
            node[last] = value
    params_file.write_text(yaml.safe_dump(raw, sort_keys=False))
