"""Package discovery for `hvla`, whose import root is the repository root (package-dir {"hvla": "."}).

Everything else about the build lives in pyproject.toml. setuptools' own `[tool.setuptools.packages.find]`
names what it finds relative to `where` ("core", "skills.e2e"), so with this layout it would install
top-level `core`, `sim`, ... instead of `hvla.core`, `hvla.sim`, ...; here the same finder runs and each
name gets the `hvla.` prefix. A layer is a top-level folder with an `__init__.py`; under it every folder
holding Python files is a package, PEP 420 namespaces included (orchestration/teleop), so a new folder
ships without anyone editing a list.
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup

ROOT = Path(__file__).resolve().parent
NOT_SHIPPED = {"tests", "benchmarks", "examples", "data", "runs", "docs", "artifacts", "build"}


def layers() -> list[str]:
    """core, sim, controllers, skills, perception, planner, orchestration."""
    return sorted(
        init.parent.name for init in ROOT.glob("*/__init__.py")
        if init.parent.name not in NOT_SHIPPED and not init.parent.name.startswith(".")
    )


def hvla_packages() -> list[str]:
    found = find_namespace_packages(where=str(ROOT), include=[n for layer in layers() for n in (layer, f"{layer}.*")])
    with_code = (name for name in found if any((ROOT / name.replace(".", "/")).glob("*.py")))
    return ["hvla", *sorted(f"hvla.{name}" for name in with_code)]


# script_name: distutils leaves the setup script out of the package that holds it (this one is in `hvla`'s
# folder), but under PEP 517 it would take the build frontend's script for it.
setup(packages=hvla_packages(), script_name=__file__)
