"""A student and an instructor in a real browser: Debian's Chromium, driven by Playwright.

JupyterLab runs as `make lab` runs it (`python -m course.lab`), in a scratch copy of the
course. For notebook 06 (no dataset) and 08 (with data), a student opens the released
notebook, runs it with the stubs, reads the first failed check, types the solutions, runs it
again and sees every check pass and the plots, then clicks nbgrader's Validate. The
instructor then opens Formgrader and the Assignment List. Screenshots go to
test-artifacts/browser/. Where Chromium or Playwright is missing the tests are skipped with
the reason, except in CI (`COURSE_REQUIRE_SERVICES=1`), where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import nbformat
import pytest

from autograder import grading
from course import lab
from tests.conftest import ROOT, shared_data_dir
from tests.nbgrader_cells import cells_by_role

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the browser fixture skips (or fails in CI) with the reason
    PlaywrightTimeout = TimeoutError

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
TOKEN = "course-browser-test"
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"  # the notebook in view
STDERR = f"{NOTEBOOK} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"


def _missing(reason: str):
    if os.environ.get("COURSE_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """JupyterLab as `make lab` starts it, on 127.0.0.1, in a scratch copy of the course."""
    folder = tmp_path_factory.mktemp("lab")
    course = grading.copy_course(folder / "course")
    shutil.copytree(ROOT / "release", course / "release")
    port = _free_port()
    env = dict(os.environ, COURSE_FAST="1", JUPYTERLAB_SETTINGS_DIR=str(folder / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(folder / "workspaces"))  # fmt: skip
    if shared_data_dir() is not None:
        env["COURSE_DATA_DIR"] = str(shared_data_dir())
    log = open(folder / "lab.log", "w")  # noqa: SIM115 (open for the server's lifetime)
    process = subprocess.Popen(
        [sys.executable, "-m", "course.lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}"],
        cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
            break
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None:
                break
            time.sleep(0.5)
    else:
        process.kill()
    if process.poll() is not None:
        log.close()
        pytest.fail("JupyterLab did not start:\n" + (folder / "lab.log").read_text()[-3000:])
    # The test reads outputs far down the notebook: render every cell, not only those in view.
    settings = urllib.request.Request(
        f"{base}/lab/api/settings/@jupyterlab/notebook-extension:tracker?token={TOKEN}",
        method="PUT", headers={"Content-Type": "application/json"},
        data=json.dumps({"raw": json.dumps({"windowingMode": "none"})}).encode(),
    )  # fmt: skip
    urllib.request.urlopen(settings, timeout=10)
    yield base, course
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Debian's Chromium with a fresh profile (never `playwright install`)."""
    if not os.path.exists(CHROMIUM):
        _missing("Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install -e '.[dev]')")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=CHROMIUM, args=FLAGS,
            headless=True, viewport={"width": 1280, "height": 800},
        )  # fmt: skip
        context.set_default_timeout(60_000)
        yield context
        context.close()


def kernel_state(base: str, path: str) -> str | None:
    """The execution state the server reports for the kernel of this notebook's session."""
    with urllib.request.urlopen(f"{base}/api/sessions?token={TOKEN}", timeout=10) as answer:
        sessions = json.load(answer)
    for session in sessions:
        if session.get("path", "").endswith(path):
            return session["kernel"]["execution_state"]
    return None


def open_notebook(browser, base, path, workspace):
    """A new tab with only this notebook open (a workspace of its own, reset), once its kernel
    has started: on a loaded machine the page is idle well before the kernel is."""
    page = browser.new_page()
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{path}?token={TOKEN}&reset")
    page.wait_for_selector(f"{NOTEBOOK} .jp-Cell")
    deadline = time.monotonic() + 180
    while kernel_state(base, path) != "idle":
        assert time.monotonic() < deadline, f"the kernel of {path} is {kernel_state(base, path)}"
        time.sleep(1)
    page.wait_for_selector(IDLE)
    return page


QUEUED = (
    "() => [...document.querySelectorAll('.jp-InputArea-prompt')]"
    ".some(p => p.innerText.includes('*'))"
)
PROMPTS = (
    f"() => [...document.querySelectorAll('{NOTEBOOK} .jp-InputArea-prompt')].map(p => p.innerText)"
)
# Started: a cell is queued, or a cell shows a count it did not show before (a restart blanks
# the counts first, which is not a start).
STARTED = (
    f"(before) => ({QUEUED})() || ({PROMPTS})().some((p, i) => /[0-9]/.test(p) && p !== before[i])"
)


def run_menu(page, command: str, timeout: float = 300_000) -> None:
    """Run → the menu entry with this command; wait until every queued cell has run.

    The run has started when a cell is queued ([*]) or a prompt shows a new count. If neither
    happens within a minute, the click did not take (the menu was still opening on a loaded
    machine): it is tried once more, and a second miss fails with a screenshot."""
    before = page.evaluate(PROMPTS)
    for attempt in (1, 2):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.locator(f"li[data-command='{command}']").click()
        if command == "runmenu:restart-and-run-all":
            page.locator(".jp-Dialog .jp-mod-accept").click()
        try:
            page.wait_for_function(STARTED, arg=before, timeout=60_000)
            break
        except PlaywrightTimeout:
            page.screenshot(path=str(ARTIFACTS / f"run-did-not-start-{attempt}.png"))
            dialogs = page.locator(".jp-Dialog")
            assert attempt == 1, f"{command} did not start twice; dialogs: " + (
                dialogs.first.inner_text() if dialogs.count() else "none"
            )
            page.keyboard.press("Escape")
    try:
        page.wait_for_function(f"() => !({QUEUED})()", timeout=timeout)
        page.wait_for_selector(IDLE, timeout=timeout)
    finally:
        page.screenshot(path=str(ARTIFACTS / "last-run.png"))
    page.wait_for_timeout(500)


def no_error_banner(page) -> None:
    assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").inner_text()
    assert page.locator(".Toastify__toast--error").count() == 0
    assert (
        page.get_by_text("Would you like to get notified about official Jupyter news").count() == 0
    )


def type_into(page, index: int, code: str) -> None:
    """Replace a cell's code by typing, as a student would (the editor's own auto-indent and
    bracket closing do not apply to inserted text)."""
    editor = page.locator(f"{NOTEBOOK} .jp-Cell").nth(index).locator(".cm-content")
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)
    page.keyboard.press("Escape")


def solution_cells(released: nbformat.NotebookNode) -> dict[str, int]:
    """grade_id -> index of each exercise (code solution cell) of a released notebook."""
    found = {}
    for index, cell in enumerate(released.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            found[meta["grade_id"]] = index
    return found


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("assignment", "first_check", "minimum_images", "mistake"),
    [("06_reparameterization", "score_function_gradient is not implemented yet", 5,
      "score_wrt_std"),
     ("08_conditional_vae", "vlb_binomial is not implemented yet", 5, None)],
)  # fmt: skip
def test_a_student_runs_fixes_and_validates_a_notebook_in_jupyterlab(
    server, browser, assignment, first_check, minimum_images, mistake
):
    base, course = server
    path = f"release/{assignment}/{assignment}.ipynb"
    released = nbformat.read(course / path, as_version=4)
    exercises = solution_cells(released)
    solutions, tests, _ = cells_by_role(assignment)
    page = open_notebook(browser, base, path, assignment)
    # JupyterLab adds the cells one batch at a time: on a slow machine the first is there well
    # before the last. Wait for all of them (or fail on the timeout), then count exactly.
    cells = f"{NOTEBOOK} .jp-Cell"
    page.wait_for_function("([selector, n]) => document.querySelectorAll(selector).length >= n",
                           arg=[cells, len(released.cells)], timeout=120_000)  # fmt: skip
    assert page.locator(cells).count() == len(released.cells)
    no_error_banner(page)

    # Run All with the stubs: it stops at the first check, which says what to do.
    run_menu(page, "runmenu:run-all")
    failures = page.locator(STDERR)
    assert failures.count() >= 1, "running the stubs showed no failed check"
    first = failures.first
    first.scroll_into_view_if_needed()
    assert first.is_visible()
    said = first.inner_text()
    lines = said.strip().splitlines()
    assert lines[0].startswith("Check failed"), said
    assert first_check in words(said) and len(lines) <= 4, said
    assert "Traceback" not in said and "course/checks" not in said and "During handling" not in said
    page.screenshot(path=str(ARTIFACTS / f"{assignment}-failed-check.png"))
    no_error_banner(page)

    if mistake is not None:  # a known mistake: its check names it and says how to fix it
        import importlib

        from autograder.grading import short_name

        known = importlib.import_module(f"autograder.mistakes.{short_name(assignment)}").MISTAKES
        variant = next(v for v in known if v.name == mistake)
        hint = importlib.import_module(f"course.checks.{short_name(assignment)}").HINTS[
            variant.hint
        ]
        type_into(page, exercises[variant.target], variant.source())
        run_menu(page, "runmenu:restart-and-run-all")
        failure = page.locator(STDERR).first
        failure.scroll_into_view_if_needed()
        assert words(hint) in words(failure.inner_text()), failure.inner_text()
        cell = failure.locator("xpath=ancestor::div[contains(@class, 'jp-CodeCell')][1]")
        cell.screenshot(path=str(ARTIFACTS / f"{assignment}-mistake-cell.png"))

    for grade_id, index in exercises.items():
        type_into(page, index, solutions[grade_id])
    run_menu(page, "runmenu:restart-and-run-all")
    page.screenshot(path=str(ARTIFACTS / f"{assignment}-solved.png"))
    assert page.locator(STDERR).count() == 0, [
        e.inner_text()[:300] for e in page.locator(STDERR).all()
    ]
    passed = page.locator(f"{NOTEBOOK} .jp-OutputArea-output", has_text="Passed:").count()
    assert passed == len(tests), f"{passed} of {len(tests)} test cells say they passed"
    images = page.locator(f"{NOTEBOOK} .jp-OutputArea-output img").count()
    assert images >= minimum_images, f"{images} plots, expected at least {minimum_images}"
    no_error_banner(page)

    page.keyboard.press("Control+S")
    page.wait_for_timeout(1500)
    page.locator(".jp-Toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=300_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / f"{assignment}-validate.png"))
    assert "Success! Your notebook passes all the tests." in dialog.inner_text()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.close()


def test_the_instructor_sees_formgrader_and_the_assignment_list_without_errors(server, browser):
    """On a 1440 x 900 screen; Formgrader's table needs about 1,270 px, so the instructor
    folds the file browser away (Ctrl+B), as the README says."""
    base, _ = server
    page = browser.new_page()
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{base}/lab/workspaces/instructor?token={TOKEN}&reset")
    page.wait_for_selector("text=Nbgrader")
    no_error_banner(page)
    page.get_by_role("menuitem", name="Nbgrader").click()
    page.get_by_text("Assignment List", exact=True).click()
    listing = page.locator(".jp-MainAreaWidget", has_text="Released assignments").last
    listing.wait_for()
    page.wait_for_timeout(3000)
    page.screenshot(path=str(ARTIFACTS / "assignment-list.png"))
    text = listing.inner_text()
    assert "Error fetching courses" not in text and "exchange directory" not in text, text
    assert "There are no assignments to fetch." in text

    page.keyboard.press("Control+b")  # the file browser folds away, as an instructor would
    page.get_by_role("menuitem", name="Nbgrader").click()
    page.get_by_text("Formgrader", exact=True).click()
    iframe = page.wait_for_selector("iframe[src*='formgrader']")
    frame = iframe.content_frame()
    try:
        frame.wait_for_selector("table a:has-text('08_conditional_vae')")
    finally:
        page.screenshot(path=str(ARTIFACTS / "formgrader.png"))
    body = frame.locator("body").inner_text()
    assert "exchange directory" not in body and "does not exist" not in body, body[:500]
    names = [name for name in grading.assignments(ROOT) if frame.get_by_text(name).count()]
    assert names == grading.assignments(ROOT)
    right, width = frame.evaluate(
        "() => [document.querySelector('table').getBoundingClientRect().right, "
        "document.documentElement.clientWidth]"
    )
    assert right <= width, f"Formgrader's table ends at {right:.0f} px, its panel at {width} px"
    no_error_banner(page)
    page.close()


def test_lab_runs_as_root_only_with_allow_root(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert "--allow-root" in lab.command(tmp_path, [])
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "--allow-root" not in lab.command(tmp_path, [])


def test_lab_settings_turn_the_news_off_and_keep_other_settings(tmp_path):
    path = lab.overrides_path(str(tmp_path))
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "dark"}}))
    lab.write_settings(str(tmp_path))
    settings = json.loads(path.read_text())
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert settings["@jupyterlab/apputils-extension:themes"] == {"theme": "dark"}
