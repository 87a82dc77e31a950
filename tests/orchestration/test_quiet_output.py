"""The terminal shows hvla's own output only: libraries' logs go to the log file (core/logs.py).

The plan test starts from an empty cache and a new Ultralytics settings folder, the noisiest start
there is: the detector is exported to ONNX and Ultralytics writes its settings file, both of which
print on the terminal when nothing reroutes them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from hvla.orchestration.cli import app
from hvla.skills.data.lerobot import DatasetWriter

HVLA = Path(sys.executable).with_name("hvla")
# Lines the libraries print when left alone (ultralytics' banner and export report, transformers' bar).
LIBRARY_LINE = re.compile(r"Ultralytics|YOLO|ONNX:|PyTorch:|Export complete|netron|Loading weights|it/s\]|WARNING")


def quiet_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_DISABLE_PROGRESS_BARS", "YOLO_VERBOSE")}
    return env | {"HVLA_CACHE": str(tmp_path / "cache"), "YOLO_CONFIG_DIR": str(tmp_path / "yolo"),
                  "HVLA_LOG": str(tmp_path / "hvla.log"), "COLUMNS": "100"}


def test_hvla_plan_prints_only_its_own_lines_and_the_libraries_logs_go_to_the_file(tmp_path):
    env = quiet_env(tmp_path)
    text = subprocess.run([str(HVLA), "plan", "put the banana in the bowl"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    as_json = subprocess.run([str(HVLA), "plan", "put the banana in the bowl", "--json"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert text.returncode == 0 and as_json.returncode == 0, text.stderr + as_json.stderr
    for out in (text.stdout, text.stderr, as_json.stdout, as_json.stderr):
        assert not [line for line in out.splitlines() if LIBRARY_LINE.search(line)], out
    assert "pick_place" in text.stdout and text.stderr == ""
    assert json.loads(as_json.stdout)["subgoals"][0]["skill"] == "pick_place"  # stdout is the JSON alone
    log = (tmp_path / "hvla.log").read_text()
    assert "ONNX: export success" in log and "Creating new Ultralytics Settings" in log


def test_the_sentence_encoder_loads_without_a_progress_bar(tmp_path):
    code = ("from hvla.core import logs; logs.configure()\n"
            "from hvla.planner.language.encoder import shared_encoder; shared_encoder(None).load()\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=quiet_env(tmp_path), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_verbose_shows_the_libraries_logs_on_the_terminal(tmp_path):
    done = subprocess.run([str(HVLA), "-v", "plan", "put the banana in the bowl"], cwd=tmp_path,
                          env=quiet_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Ultralytics" in done.stdout + done.stderr and "artefact perception/" in done.stderr


def test_data_report_prints_its_statistics_as_a_table_not_a_raw_dict(tmp_path, episode_factory):
    writer = DatasetWriter(tmp_path / "ds")
    writer.stage(episode_factory("a", 10, 0))
    writer.stage(episode_factory("b", 10, 1, success=False))
    writer.finalise()
    result = CliRunner().invoke(app, ["data", "report", str(tmp_path / "ds")], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    out = result.stdout + result.stderr
    assert "{" not in out and "'actions'" not in out and "first_step_mm_median" not in out
    assert re.search(r"label vs executed, mean \[mm\] +│ +\d+\.\d", out)
    assert re.search(r"recovery frames \[%\] +│ +\d+\.\d", out) and "failure: x" in out
