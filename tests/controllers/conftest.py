"""Shared fixtures: building the pinocchio model takes ~0.25 s, so tests share one."""

from __future__ import annotations

import pytest

from hvla.controllers.robot_model import PandaModel


@pytest.fixture(scope="session")
def model() -> PandaModel:
    return PandaModel()
