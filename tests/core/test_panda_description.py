import importlib.metadata
import sysconfig

import pytest

from hvla.core import panda
from hvla.core.errors import ConfigError


@pytest.fixture(autouse=True)
def _fresh_cache():
    panda.description_root.cache_clear()
    yield
    panda.description_root.cache_clear()


def test_panda_urdf_is_found_through_the_distributions_own_files():
    dist = importlib.metadata.distribution("example-robot-data")
    urdf = panda.panda_urdf_path()
    assert urdf.is_file()
    assert urdf.is_relative_to(dist.locate_file(""))


def test_description_does_not_depend_on_the_running_interpreters_sysconfig(monkeypatch):
    monkeypatch.setattr(sysconfig, "get_paths", lambda *a, **k: {"purelib": "/nonexistent", "platlib": "/nonexistent"})
    assert panda.panda_urdf_path().is_file()


def test_missing_distribution_is_a_config_error_naming_the_fix(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(ConfigError, match="pip install example-robot-data"):
        panda.description_root()
