"""The planner's own command line (the head's training command)."""

from __future__ import annotations

from typer.testing import CliRunner

from hvla.orchestration.cli.planner import app


def test_train_head_command_is_documented():
    result = CliRunner().invoke(app, ["train-head", "--help"])
    assert result.exit_code == 0
    assert "--n-train" in result.output and "--epochs" in result.output and "MANIFEST" in result.output
