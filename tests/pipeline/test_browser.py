"""What a person sees: a smoke pipeline's runs in the MLflow UI of `seqlab ui`, in headless Chromium.

One synthetic smoke pipeline into a temporary SQLite store, one `seqlab ui` on it, one browser for
all tests. Debian's Chromium driven by Playwright (which cannot download its own browsers here);
without it the tests skip on a developer's machine and fail in CI (`.ci/run` sets SEQLAB_CI).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flows.stack import STOP_DEADLINE_SECONDS, answers, wait_until
from tests.pipeline.helpers import clean_copy

pytestmark = [pytest.mark.slow, pytest.mark.pipeline, pytest.mark.browser]

CHROMIUM = Path(os.environ.get("SEQLAB_CHROMIUM", "/usr/bin/chromium"))
REQUIRED_IN = ("SEQLAB_CI", "CI")  # set: a missing browser fails the tier instead of skipping it
DATASET = "synthetic"  # the cheapest smoke pipeline (about a minute)
# A page under load (the whole suite on 2 cores) can take long to render: minutes, polled.
PAGE_TIMEOUT_MS = 180_000
NOTE_TAG = "mlflow.note.content"


@dataclass(frozen=True)
class Store:
    root: Path
    env: dict[str, str]
    run_id: str


@dataclass(frozen=True)
class UI:
    url: str
    links: dict[str, str]  # dataset -> the link `seqlab ui` printed


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium and Playwright, or a skip (a failure where REQUIRED_IN is set)."""
    if not CHROMIUM.is_file():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
    elif importlib.util.find_spec("playwright") is None:
        reason = "the playwright package is missing (make setup installs requirements.lock)"
    else:
        return CHROMIUM
    if any(os.environ.get(name) for name in REQUIRED_IN):
        pytest.fail(f"browser tests are required here ({'/'.join(REQUIRED_IN)} set): {reason}")
    pytest.skip(reason)


# The pages need a run tree, not a good model: the smoke profile with one trial and two variants.
SLIM = (
    "defaults.synthetic.tuning.max_trials=1",
    "defaults.synthetic.tuning.epochs=1",
    "defaults.synthetic.training.epochs=2",
    "defaults.synthetic.training.variants={none: {}, dropout: {dropout: 0.2}}",
)


@pytest.fixture(scope="module")
def store(chromium: Path, tmp_path_factory: pytest.TempPathFactory, prefect_server: None) -> Iterator[Store]:
    """One smoke pipeline of the synthetic series in a clean copy, into an empty SQLite store."""
    from flows.pipeline import dataset_pipeline

    root, env = clean_copy(tmp_path_factory.mktemp("browser"))
    with pytest.MonkeyPatch.context() as patch:
        for name in ("MLFLOW_TRACKING_URI", "SEQLAB_DATA_MIRROR", "TF_CPP_MIN_LOG_LEVEL"):
            patch.setenv(name, env[name])
        summary = dataset_pipeline(DATASET, "smoke", list(SLIM), str(root))
        yield Store(root, env, summary["mlflow_run_id"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def ui(store: Store) -> Iterator[UI]:
    """`seqlab ui` on the store (the MLflow UI it starts, the links it prints), stopped afterwards."""
    port = _free_port()
    log = store.root.parent / "seqlab-ui.log"
    command = [sys.executable, "-m", "seqlab.cli", "--root", str(store.root), "ui", "--port", str(port)]
    with log.open("w") as output:
        server = subprocess.Popen(
            command,
            cwd=store.root,
            env=store.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(
            lambda: answers(f"http://127.0.0.1:{port}/health"),
            "the MLflow UI of `seqlab ui`",
            alive=lambda: server.poll() is None,
            log=str(log),
        )
        links = dict(re.findall(r"^  (\w+): (http://\S+)$", log.read_text(), flags=re.MULTILINE))
        yield UI(f"http://127.0.0.1:{port}", links)
    finally:
        _stop(server)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the UI and whatever it started (its own session: one process group), killing stragglers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(timeout=STOP_DEADLINE_SECONDS)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    """One headless Chromium context for the module: the UI's 20 MB of JavaScript is fetched once."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--disable-gpu", "--disable-dev-shm-usage"]
        )
        context = launched.new_context(viewport={"width": 1920, "height": 1080})
        context.set_default_timeout(PAGE_TIMEOUT_MS)  # each wait polls up to this; none is a timing check
        try:
            yield context
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """A new page; its last screen lands in the test's tmp dir (screen.png), pass or fail."""
    opened = browser.new_page()
    try:
        yield opened
    finally:
        with contextlib.suppress(Exception):  # a debugging aid: never the test's verdict
            opened.screenshot(path=str(tmp_path / "screen.png"), full_page=True)
        opened.close()


def _client() -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient()


def _distinctive_part(note: str) -> str:
    """The note's first line as the page shows it: the longest stretch free of markdown markup."""
    first = next(line for line in note.splitlines() if line.strip())
    return max((part.strip() for part in re.split(r"[*`#>\[\]]+", first)), key=len)


def test_the_run_page_shows_the_description_and_the_test_metric(store: Store, ui: UI, page: Any) -> None:
    from playwright.sync_api import expect

    run = _client().get_run(store.run_id)
    note = run.data.tags.get(NOTE_TAG)
    assert note, f"the pipeline run {store.run_id} has no description (tag {NOTE_TAG})"
    metric = run.data.tags.get("seqlab.metric", "test_mae")
    assert metric in run.data.metrics, f"the pipeline run has no {metric}: {sorted(run.data.metrics)}"

    page.goto(f"{ui.url}/#/experiments/{run.info.experiment_id}/runs/{store.run_id}")
    page.get_by_placeholder("Search metrics").fill(metric)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=metric, exact=True))
    shown = page.evaluate("value => String(value)", run.data.metrics[metric])  # as JavaScript prints it
    expect(row.get_by_role("cell").nth(1)).to_have_text(shown, timeout=PAGE_TIMEOUT_MS)
    expect(page.locator("body")).to_contain_text(_distinctive_part(note), timeout=PAGE_TIMEOUT_MS)


def _png_width(path: Path) -> int:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int(struct.unpack(">I", header[16:20])[0])


def test_a_plot_artifact_renders(store: Store, ui: UI, page: Any, tmp_path: Path) -> None:
    client = _client()
    run = client.get_run(store.run_id)
    plots = sorted(item.path for item in client.list_artifacts(store.run_id, "plots"))
    plot = next((path for path in plots if path.endswith(".png")), None)
    assert plot, f"the pipeline run logged no plots/*.png: {plots}"
    width = _png_width(Path(client.download_artifacts(store.run_id, plot, str(tmp_path))))

    page.goto(f"{ui.url}/#/experiments/{run.info.experiment_id}/runs/{store.run_id}/artifacts")
    page.get_by_text("plots", exact=True).first.click()
    page.get_by_text(Path(plot).name, exact=True).first.click()
    loaded = "width => [...document.images].some(image => image.complete && image.naturalWidth === width)"
    try:
        page.wait_for_function(loaded, arg=width, timeout=PAGE_TIMEOUT_MS)
    except Exception as error:  # Playwright's TimeoutError: say what the page has instead
        images = page.evaluate(
            "[...document.images].map(image => [image.src.slice(0, 60), image.naturalWidth])"
        )
        raise AssertionError(
            f"{plot} ({width} px wide) never rendered; images on the page: {images}"
        ) from error


def test_seqlab_ui_links_to_the_pipeline_runs_with_their_test_metrics(
    store: Store, ui: UI, page: Any
) -> None:
    from playwright.sync_api import expect

    assert DATASET in ui.links, f"`seqlab ui` printed no link for {DATASET}: {ui.links}"
    client = _client()
    run = client.get_run(store.run_id)
    metric = run.data.tags.get("seqlab.metric", "test_mae")
    pipelines = client.search_runs(
        [run.info.experiment_id], filter_string="tags.`seqlab.kind` = 'pipeline'", max_results=1000
    )
    everything = client.search_runs([run.info.experiment_id], max_results=1000)
    assert len(everything) > len(pipelines), "the store should hold child runs for the filter to hide"

    page.goto(ui.links[DATASET])
    count = page.get_by_text(re.compile(r"^\d+ matching runs?$"))
    expect(count).to_have_text(re.compile(rf"^{len(pipelines)} matching runs?$"), timeout=PAGE_TIMEOUT_MS)
    for column in ("Description", metric, f"best_baseline_{metric}", "skill_vs_best_baseline"):
        header = page.get_by_role("columnheader", name=column, exact=True).first
        expect(header).to_be_visible(timeout=PAGE_TIMEOUT_MS)
