"""A recording killed with SIGKILL is finalised by `hvla data repair`: complete episodes kept, the partial one dropped.

Both recorders run as child processes and are really killed: one is the writer stopped inside `stage`
(half of an mp4 written to its temporary file), one is `hvla data record` itself between two episodes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from hvla.orchestration.cli import app
from hvla.skills.data.lerobot import check_dataset, load_dataset

CONFTEST = Path(__file__).parents[1] / "conftest.py"
KEY = "observation.images.scene"

# Commits "a", stages "b" and "c" completely, then is killed while staging "d": its frames are on disk, its
# video is half-written to the temporary file `atomic_write_bytes` renames into place, its marker never came.
_WRITER_CHILD = """
import runpy, sys, tempfile, time
from pathlib import Path
import numpy as np
from hvla.skills.data.lerobot import writer as lerobot
from hvla.skills.data.record import _write_videos

synthetic_episode = runpy.run_path(sys.argv[1])["synthetic_episode"]
root, tmp = Path(sys.argv[2]), Path(sys.argv[3])

def episode(uid, n, seed):
    ep = synthetic_episode(uid, n, seed)
    ep.videos = _write_videos({"scene": [np.full((32, 32, 3), 9 * t, np.uint8) for t in range(n)]}, tmp / uid)
    return ep

writer = lerobot.DatasetWriter(root, cameras=("scene",), image_hw=(32, 32))
writer.stage(episode("a", 6, 0))
writer.finalise()
writer.stage(episode("b", 7, 1))
writer.stage(episode("c", 8, 2))
real_write = lerobot.atomic_write_bytes

def killed_mid_write(path, data, durable=True):
    if path.name == "d.observation.images.scene.mp4":
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as f:
            f.write(data[: len(data) // 2])
            f.flush()
        print("ready", flush=True)
        time.sleep(600)
    real_write(path, data, durable)

lerobot.atomic_write_bytes = killed_mid_write
writer.begin("d")
writer.stage(episode("d", 9, 3))
"""


def _kill_when_ready(cmd: list[str], ready) -> subprocess.CompletedProcess:
    """Run `cmd`, SIGKILL it once `ready(child)` holds (within 60 s)."""
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ready(child):
            assert child.poll() is None, f"the child ended before it could be killed: {child.stderr.read()}"
            assert time.monotonic() < deadline, "the child never got to the point to kill it at"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == -signal.SIGKILL
    return subprocess.CompletedProcess(cmd, child.returncode, out, err)


def test_a_writer_killed_while_staging_is_repaired_keeping_every_complete_episode(tmp_path, episode_factory):
    root = tmp_path / "ds"
    _kill_when_ready([sys.executable, "-c", _WRITER_CHILD, str(CONFTEST), str(root), str(tmp_path / "tmp")],
                     lambda child: child.stdout.readline().strip() == "ready")
    staged = sorted(p.name for p in (root / ".staging").iterdir())
    assert "d.parquet" in staged and "d.json" not in staged and any(n.startswith(".d.observation") for n in staged)

    runner = CliRunner()
    before = runner.invoke(app, ["data", "report", str(root), "--json"])
    assert before.exit_code == 0 and json.loads(before.stdout)["episodes"] == 1  # only "a" was committed
    assert "hvla data repair" in " ".join(before.stderr.split())  # ... and it says what else is there

    result = runner.invoke(app, ["data", "repair", str(root)])
    assert result.exit_code == 0, result.output
    message = " ".join(result.stderr.split())
    assert "kept episode 1: b, 7 frames" in message and "kept episode 2: c, 8 frames" in message
    assert "kept 1 episode(s) committed before (6 frames)" in message
    assert "dropped partial episode d:" in message and "9 frames staged without their commit marker" in message

    ds = load_dataset(root)
    assert [(e["hvla/uid"], e["length"]) for e in ds.episodes] == [("a", 6), ("b", 7), ("c", 8)]
    assert check_dataset(root, deep_video=True) == []
    for i, (uid, n, seed) in enumerate([("a", 6, 0), ("b", 7, 1), ("c", 8, 2)]):
        want = episode_factory(uid, n, seed).columns["observation.state"]
        np.testing.assert_array_equal(ds.columns["observation.state"][ds.frames(i)], want)
    assert np.array_equal(ds.columns["index"], np.arange(21))
    assert [p.name for p in (root / ".staging").iterdir()] == ["writer.journal"]  # "d" and its temporary file gone
    after = runner.invoke(app, ["data", "report", str(root), "--json"])
    assert after.exit_code == 0 and json.loads(after.stdout)["episodes"] == 3 and "repair" not in after.stderr
    again = runner.invoke(app, ["data", "repair", str(root)])
    assert again.exit_code == 0 and "nothing to repair" in again.stderr


def test_hvla_data_record_killed_between_episodes_is_repaired_then_resumed(tmp_path):
    root = tmp_path / "rec"
    cmd = [sys.executable, "-m", "hvla.orchestration.cli", "data", "record", "--skill", "pick", "--episodes", "2",
           "--first-seed", "1000", "--lead-in", "0", "--workers", "1", "--out", str(root)]

    def second_episode_begun(child) -> bool:  # the first is staged and the recorder is on the second
        return len(list(root.glob(".staging/*.json"))) == 1 and len(list(root.glob(".staging/*.started"))) == 2

    _kill_when_ready(cmd, second_episode_begun)
    first = next(root.glob(".staging/*.json")).stem
    second = next(p.stem for p in root.glob(".staging/*.started") if p.stem != first)
    runner = CliRunner()
    report = runner.invoke(app, ["data", "report", str(root)])
    assert report.exit_code == 2
    hint = " ".join(report.stderr.split())
    assert f"hvla data repair {root}" in hint and f"hvla data record --resume --out {root}" in hint

    result = runner.invoke(app, ["data", "repair", str(root)])
    assert result.exit_code == 0, result.output
    message = " ".join(result.stderr.split())
    frames = load_dataset(root).episodes[0]["length"]
    assert f"kept episode 0: {first}, {frames} frames" in message
    assert f"dropped partial episode {second}: recording by pid" in message and "no frames on disk" in message
    assert json.loads(runner.invoke(app, ["data", "report", str(root), "--json"]).stdout)["episodes"] == 1

    refused = runner.invoke(app, ["data", "record", "--resume", "--episodes", "5", "--out", str(root)])
    assert refused.exit_code == 2 and "drop --episodes" in " ".join(refused.stderr.split())
    resumed = runner.invoke(app, ["data", "record", "--resume", "--workers", "1", "--out", str(root)])
    assert resumed.exit_code == 0, resumed.output
    assert "1 recorded, 1 to go, from seed 1001" in " ".join(resumed.stderr.split())
    ds = load_dataset(root)
    assert sorted(e["hvla/seed"] for e in ds.episodes) == [1000, 1001]
    assert second in {e["hvla/uid"] for e in ds.episodes}
