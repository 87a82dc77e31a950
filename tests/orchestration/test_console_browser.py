"""The operator console in a real headless browser (Debian's chromium + chromedriver, driven by selenium):
plan, run, watch the graph, cameras and events, e-stop, see a new run refused, reset, then a run in
step-approval mode approved subgoal by subgoal. `make test` installs the browser; it is never skipped.

It saves runs/console.png: the console during a run, for a person to look at.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from hvla.orchestration.builder import StackConfig
from hvla.orchestration.console import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TOKEN = "browser-test-token"
SCREENSHOT = Path(__file__).resolve().parents[2] / "runs" / "console.png"
TWO_STEPS = "put the banana in the bowl, then wipe the counter"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def console_url(tmp_path) -> Iterator[str]:
    app = create_app(StackConfig(perception="oracle", skills="scripted", image_size=96), token=TOKEN,
                     teleop_root=tmp_path / "teleop")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline, "the console server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        pytest.fail(f"{' and '.join(missing)} missing: `make test` installs them (apt-get install -y chromium "
                    "chromium-driver), or run that yourself")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="hvla-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1200"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the page's own errors, read at the end
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, what: str, check, timeout_s: float = 30.0):
    """Poll `check()` until truthy; the failure names what was awaited and what the page showed."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    state = driver.find_element("id", "run-state").text
    error = driver.find_element("id", "error").text
    raise AssertionError(f"timed out waiting for {what}; run state: {state!r}; error box: {error!r}")


def _node_states(driver) -> dict[str, str]:
    """Read in one script: the page redraws the graph as states change, so element handles go stale."""
    pairs = driver.execute_script(
        "return [...document.querySelectorAll('#graph g.node')].map(g => [g.dataset.id, g.dataset.state])")
    return dict(pairs)


def _event_kinds(driver) -> list[str]:
    return driver.execute_script("return [...document.querySelectorAll('#events tbody tr')].map(t => t.dataset.kind)")


def _frame_seq(driver, camera: str) -> int:
    """Which view the camera's canvas shows (-1: none yet); the page sets it once the frame is drawn."""
    return int(driver.find_element("id", f"cam-{camera}").get_attribute("data-seq"))


def _set(driver, element_id: str, value: str) -> None:
    el = driver.find_element("id", element_id)
    el.clear()
    el.send_keys(value)


def test_operator_drives_the_console_in_a_browser(console_url, browser):
    t0 = time.time()
    d = browser
    d.get(f"{console_url}/?token={TOKEN}")
    _wait(d, "the token to be taken from the address", lambda: "token=" not in d.current_url)
    _wait(d, "the connection", lambda: "token set" in d.find_element("id", "conn").text)
    assert d.find_element("id", "error").is_displayed() is False

    # plan: a preview graph of two pending subgoals
    _set(d, "instr", TWO_STEPS)
    _set(d, "seed", "3")
    d.find_element("id", "plan-btn").click()
    assert _wait(d, "the plan graph", lambda: _node_states(d)) == {"s0": "pending", "s1": "pending"}

    # run and watch: the first node runs, both cameras show frames with objects, events arrive
    d.find_element("id", "run-btn").click()
    _wait(d, "s0 running", lambda: _node_states(d).get("s0") == "running")
    for cam in ("scene", "wrist"):  # a dozen steps in: the plots have something to show in the screenshot
        _wait(d, f"a {cam} frame", lambda cam=cam: _frame_seq(d, cam) > 12)
    assert int(d.find_element("id", "cam-scene").get_attribute("data-boxes")) > 0
    assert "subgoal_started" in _event_kinds(d)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    d.save_screenshot(str(SCREENSHOT))

    # e-stop (no token needed): the run ends stopped, the console latches and refuses the next run
    d.find_element("id", "estop-btn").click()
    _wait(d, "the run to stop", lambda: d.find_element("id", "run-state").get_attribute("data-state") == "stopped")
    _wait(d, "the latch", lambda: d.find_element("id", "latch").get_attribute("data-latched") == "true")
    assert "stopped" in _node_states(d).values()
    assert d.find_element("id", "latch-banner").is_displayed()
    d.find_element("id", "run-btn").click()
    _wait(d, "the refusal", lambda: "e-stop latched: reset it first" in d.find_element("id", "error").text)

    # reset releases the latch
    d.find_element("id", "reset-btn").click()
    _wait(d, "the reset", lambda: d.find_element("id", "latch").get_attribute("data-latched") == "false")

    # step approval: each subgoal waits for the operator's click, then runs
    d.find_element("id", "approval").click()
    d.find_element("id", "run-btn").click()
    for sid in ("s0", "s1"):
        _wait(d, f"{sid} awaiting approval", lambda sid=sid: _node_states(d).get(sid) == "awaiting")
        panel = d.find_element("id", "approval-panel")
        assert panel.is_displayed() and sid in panel.text
        d.find_element("id", "approve-btn").click()
        _wait(d, f"{sid} to finish", lambda sid=sid: _node_states(d).get(sid) == "succeeded", timeout_s=60)
    _wait(d, "the run to succeed", lambda: d.find_element("id", "run-state").get_attribute("data-state") == "succeeded")
    assert _event_kinds(d).count("approval_requested") == 2
    assert not d.find_element("id", "approval-panel").is_displayed()

    # teleoperation still works through the page (with the token): start, a few keys, end
    d.find_element("css selector", "#teleop summary").click()
    d.find_element("id", "tstart").click()
    _wait(d, "teleop driving", lambda: d.find_element("id", "tstatus").text.startswith("driving"))
    d.find_element("tag name", "body").send_keys("www")
    d.find_element("id", "tend").click()
    _wait(d, "teleop ended", lambda: d.find_element("id", "tstatus").text.startswith(("failed", "succeeded")))
    assert "refused" not in d.find_element("id", "tstatus").text

    # no script error or blocked resource (CSP) on the way; refused requests (409) are logged, and expected
    errors = [e["message"] for e in d.get_log("browser")
              if e["level"] == "SEVERE" and "status of 409" not in e["message"]]
    assert not errors, errors
    assert time.time() - t0 < 120
