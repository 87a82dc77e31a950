"""`hvla debug`: a learned policy in the loop, shadowed by the scripted expert."""

from __future__ import annotations

import json

import pytest

from hvla.core.errors import ConfigError
from hvla.orchestration.builder import StackConfig
from hvla.orchestration.debugging import debug_episode


def test_debugging_the_scripted_expert_against_itself_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="learned or e2e"):
        debug_episode("pick up the banana", 0, StackConfig(perception="oracle", skills="scripted"), tmp_path)


def test_a_debugged_episode_writes_its_trace(tmp_path):
    report = debug_episode("pick up the banana", 3, StackConfig(perception="oracle", skills="learned"), tmp_path)
    trace = json.loads((tmp_path / "trace.json").read_text())
    assert report["steps"] == len(trace["steps"]) > 0 and trace["interventions"] == report["interventions"]
