"""The `hvla` command line: exit codes, JSON reports, and episode logs that survive a killed run.

Bad input runs in-process (typer's CliRunner, fast); whole episodes run as child processes, as a user
would start them: one complete episode is shared by the report test and the kill tests.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hvla.orchestration.cli import app
from hvla.orchestration.episode_log import list_episodes, load_episode
from hvla.sim.world import KitchenWorld

TWO_STEPS = "put the banana in the bowl, then wipe the counter"
REPORT_KEYS = {"success", "plan", "subgoals", "failure", "sim_time_s", "wall_time_s", "log_dir", "scene"}


def flat(text: str) -> str:
    """Rich wraps long messages at the terminal width: compare with whitespace collapsed."""
    return " ".join(text.split())


def hvla(*args: str, cwd: Path, **popen) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hvla.orchestration.cli", *args], cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen,
    )


@pytest.fixture
def moves(monkeypatch) -> list[object]:
    """Every joint command sent to any KitchenWorld during the test."""
    sent: list[object] = []
    original = KitchenWorld.command

    def command(self: KitchenWorld, cmd: object) -> None:
        sent.append(cmd)
        original(self, cmd)

    monkeypatch.setattr(KitchenWorld, "command", command)
    return sent


# --- bad input: exit 2, a message that says why, nothing moved -----------------------------------
def test_unknown_object_exits_2_naming_the_word_and_the_scene_objects_and_nothing_moves(tmp_path, moves):
    result = CliRunner().invoke(app, ["run", "put the unicorn in the bowl", "--seed", "1", "--log-dir", str(tmp_path)])
    assert result.exit_code == 2
    message = flat(result.stderr)
    assert "unicorn" in message
    for name in ("banana", "bowl", "sponge"):  # the objects in the kitchen of seed 1
        assert name in message
    assert moves == []
    assert list_episodes(tmp_path) == []  # no episode was started


def test_unknown_object_with_json_prints_an_error_object(tmp_path):
    result = CliRunner().invoke(app, ["run", "put the unicorn in the bowl", "--json", "--log-dir", str(tmp_path)])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["success"] is False and "unicorn" in report["error"]


@pytest.mark.parametrize("instruction", ["", "   "])
def test_empty_instruction_exits_2_and_nothing_moves(instruction, tmp_path, moves):
    result = CliRunner().invoke(app, ["run", instruction, "--log-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "empty instruction" in flat(result.stderr)
    assert moves == []


@pytest.mark.parametrize("option", ["--perception", "--planner", "--skills"])
def test_unknown_implementation_name_exits_2_naming_the_known_ones(option, tmp_path, moves):
    result = CliRunner().invoke(app, ["run", TWO_STEPS, option, "nope", "--log-dir", str(tmp_path)])
    assert result.exit_code == 2
    message = flat(result.stderr)
    assert "'nope'" in message and "known:" in message
    known = {"--perception": "oracle", "--planner": "rules", "--skills": "scripted"}[option]
    assert known in message
    assert moves == []


def test_plan_json_lists_grounded_subgoals_edges_scores_and_scene(moves):
    result = CliRunner().invoke(app, ["plan", TWO_STEPS, "--seed", "1", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    skills = [(sg["skill"], sg["args"]) for sg in report["subgoals"]]
    assert skills[0] == ("pick_place", {"object": "banana", "target": "bowl"})
    assert skills[1][0] == "wipe" and skills[1][1]["region"] == "counter"
    ids = [sg["id"] for sg in report["subgoals"]]
    assert report["edges"] == [[ids[0], ids[1]]]
    assert set(ids) <= set(report["scores"])
    assert {"banana", "bowl"} <= {o["name"] for o in report["scene"]}
    assert all({"label", "color", "position"} <= set(o) and len(o["position"]) == 3 for o in report["scene"])
    assert moves == []


def test_episodes_lists_a_log_whose_writer_died_as_interrupted(tmp_path, synthetic_step):
    from hvla.orchestration.episode_log import EpisodeWriter

    with EpisodeWriter(tmp_path, "finished", meta={"seed": 1}) as w:
        w.finish(True)
    killed = EpisodeWriter(tmp_path, "killed", meta={"seed": 2, "instruction": "pick the apple"})
    killed.write_step(*synthetic_step(0))
    status = json.loads((killed.path / "status.json").read_text())
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    status["owner"]["pid"] = int(gone.stdout)  # as a SIGKILL leaves it: "running", its process gone
    (killed.path / "status.json").write_text(json.dumps(status))
    result = CliRunner().invoke(app, ["episodes", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if line.split()[1:2] in (["finished"],
                                                                                                   ["killed"])}
    assert "complete" in rows["finished"] and "interrupted" in rows["killed"], result.stdout
    assert f"pid {int(gone.stdout)}" in flat(result.stdout) and "hvla replay" in flat(result.stdout)


# --- whole episodes --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def first_episode(tmp_path_factory) -> tuple[Path, dict]:
    """A complete `hvla run --json` episode in a log root that the kill tests add to."""
    root = tmp_path_factory.mktemp("logs")
    child = hvla("run", TWO_STEPS, "--seed", "3", "--json", "--log-dir", str(root), cwd=root.parent)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    return root, json.loads(out)


def test_run_json_reports_the_documented_keys_and_exits_0_on_success(first_episode):
    root, report = first_episode
    assert set(report) >= REPORT_KEYS
    assert report["success"] is True and report["failure"] is None
    assert [sg["skill"] for sg in report["plan"]] == ["pick_place", "wipe"]
    assert [sg["outcome"] for sg in report["subgoals"]] == ["succeeded", "succeeded"]
    assert all(sg["duration_s"] > 0 for sg in report["subgoals"])
    assert report["wall_time_s"] > 0
    assert report["sim_time_s"] == pytest.approx(sum(sg["duration_s"] for sg in report["subgoals"]), abs=0.5)
    assert Path(report["log_dir"]).parent == root
    assert {o["name"] for o in report["scene"]} >= {"banana", "bowl", "sponge"}


def fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def kill_mid_episode(root: Path, sig: signal.Signals, min_steps: int = 20) -> tuple[Path, int]:
    """Start a seed-2 episode logging under `root`, send `sig` once `min_steps` steps are on disk."""
    before = {p.name for p in root.iterdir()}
    # Python leaves SIGINT ignored when its parent ignored it (a background job): restore the default.
    child = hvla("run", TWO_STEPS, "--seed", "2", "--log-dir", str(root), cwd=root.parent,
                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while True:
            new = [p for p in root.iterdir() if p.name not in before]
            if new and len(list((new[0] / "steps").glob("*.npz"))) >= min_steps:
                break
            assert child.poll() is None, f"the episode ended before it could be killed: {child.stderr.read()}"
            assert time.monotonic() < deadline, "no steps were logged within 60 s"
            time.sleep(0.05)
        child.send_signal(sig)
        child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    return new[0], child.returncode


def test_killed_episode_leaves_the_earlier_log_intact_and_the_partial_one_readable(first_episode):
    sig = signal.SIGKILL
    root, report = first_episode
    done = Path(report["log_dir"])
    files_before = fingerprint(done)

    partial_dir, returncode = kill_mid_episode(root, sig)

    assert returncode == -signal.SIGKILL
    assert fingerprint(done) == files_before
    complete = load_episode(done, images=False)
    assert not complete.incomplete and complete.state == "complete"
    assert complete.outcome["success"] is True and len(complete.steps) == complete.outcome["n_steps"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a step or event cut mid-write is skipped with a warning
        partial = load_episode(partial_dir, images=False)
    assert partial.incomplete and partial.outcome is None
    assert partial.state == "interrupted"
    assert partial.meta["seed"] == 2 and partial.plan is not None
    assert len(partial.steps) >= 20
    assert [s.index for s in partial.steps] == list(range(len(partial.steps)))
    assert all(s.chunk is not None and s.subgoal_id == "s0" for s in partial.steps[:20])
    assert partial.events[0].kind == "plan_created"

    states = {s.episode_id: s.state for s in list_episodes(root)}
    assert states[done.name] == "complete" and states[partial_dir.name] == partial.state


def test_ctrl_c_is_an_estop_the_episode_ends_stopped_and_the_latch_refuses_the_next_run(first_episode):
    root, _ = first_episode
    log_dir, returncode = kill_mid_episode(root, signal.SIGINT)
    assert returncode == 1  # attempted, not finished: the arm braked to rest and the episode ended
    stopped = load_episode(log_dir, images=False)
    assert stopped.state == "complete" and stopped.outcome["success"] is False
    assert stopped.outcome["outcome"] == "stopped" and "Ctrl-C" in stopped.outcome["failure"]
    assert [e.kind for e in stopped.events].count("subgoal_started") == 1  # no retry, no re-plan after it
    latch = root.parent / "runs" / "ESTOP"
    assert latch.exists()

    refused = hvla("run", TWO_STEPS, "--seed", "2", "--json", "--log-dir", str(root), cwd=root.parent)
    out, _ = refused.communicate(timeout=60)
    assert refused.returncode == 2 and "e-stop latched" in json.loads(out)["error"]
    reset = hvla("estop", "--reset", cwd=root.parent)
    _, err = reset.communicate(timeout=60)
    assert reset.returncode == 0 and "released" in err and not latch.exists()
