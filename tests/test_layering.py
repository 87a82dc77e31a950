"""Imports point down the hierarchy, no exemptions: four floors, each importing only the floors below it.

    orchestration  /  perception | planner | skills  /  sim | controllers  /  core

Perception, the planner and the skills are siblings: each may use core, the simulator (datasets,
ground-truth predicates) and the controllers' geometry, never one another, so any one of them can be
swapped without touching the others. Only orchestration wires them together.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The design's floors; a layer may import the layers on lower floors only.
FLOORS: dict[str, int] = {"core": 0, "sim": 1, "controllers": 1, "perception": 2, "planner": 2, "skills": 2,
                          "orchestration": 3}
ALLOWED: dict[str, set[str]] = {layer: {o for o, f in FLOORS.items() if f < floor} for layer, floor in FLOORS.items()}


def hvla_imports(path: Path, layer: str) -> list[tuple[int, str]]:
    """(line, module or module.name) of every hvla import in `path`, relative imports resolved, nested ones included."""
    package = ["hvla", layer, *path.parent.relative_to(ROOT / layer).parts]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            # Each imported name may itself be a module (`from hvla import planner`, `from . import runner`).
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name == "hvla" or name.startswith("hvla.")]


def violations(layer: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for line, name in hvla_imports(path, layer):
            target = name.split(".")[1] if "." in name else None  # bare `import hvla` sets env defaults only
            if target is not None and target != layer and target not in ALLOWED[layer]:
                bad.append(f"{rel}:{line} imports {name}")
    return bad


def test_every_package_has_a_place_in_the_hierarchy():
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name in ALLOWED}
    assert packages == set(ALLOWED), f"layers without a package: {set(ALLOWED) - packages}"


@pytest.mark.parametrize("layer", list(ALLOWED))
def test_layer_imports_only_layers_below_it(layer):
    assert list((ROOT / layer).rglob("*.py")), f"no Python files under {layer}/"
    bad = violations(layer)
    assert not bad, f"{layer} may import only {sorted(ALLOWED[layer]) or 'itself'}:\n" + "\n".join(bad)


def test_the_checker_sees_upward_relative_and_nested_imports(tmp_path, monkeypatch):
    fake = tmp_path / "skills"
    (fake / "sub").mkdir(parents=True)
    (fake / "sub" / "bad.py").write_text(
        "from hvla.core import messages\n"
        "from ... import planner\n"  # relative: hvla.planner
        "from hvla import sim\n"
        "def f():\n    import hvla.orchestration.cli\n"
    )
    (fake / "runner.py").write_text("from hvla.orchestration.executor import Executor\n")  # no exemptions
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations("skills") == [
        "skills/runner.py:1 imports hvla.orchestration.executor.Executor",
        "skills/sub/bad.py:2 imports hvla.planner",
        "skills/sub/bad.py:5 imports hvla.orchestration.cli",
    ]


def floors() -> dict[str, int]:
    """Each layer's floor as its real imports draw it: one above the highest layer it imports."""
    uses = {layer: {name.split(".")[1] for path in (ROOT / layer).rglob("*.py") for _, name in hvla_imports(path, layer)
                    if "." in name} - {layer} for layer in ALLOWED}
    floor: dict[str, int] = {}

    def of(layer: str, seen: tuple[str, ...] = ()) -> int:
        assert layer not in seen, f"import cycle between layers: {' -> '.join((*seen, layer))}"
        if layer not in floor:
            floor[layer] = 1 + max((of(u, (*seen, layer)) for u in uses[layer] if u in ALLOWED), default=-1)
        return floor[layer]

    for layer in ALLOWED:
        of(layer)
    return floor


def test_the_house_drawn_from_the_imports_has_the_designs_four_floors():
    """No layer stands higher than its floor, and the top one really stands on the three below."""
    drawn = floors()
    assert all(drawn[layer] <= FLOORS[layer] for layer in FLOORS), drawn
    assert drawn["orchestration"] == 3 and max(drawn.values()) == 3, drawn


def packages() -> list[Path]:
    return sorted({p.parent for layer in FLOORS for p in (ROOT / layer).rglob("*.py")
                   if "console_page" not in p.parts and "__pycache__" not in p.parts})


def test_every_folder_of_code_is_a_package_that_names_its_exports():
    """A folder without __init__.py is a namespace package a wheel leaves out; `__all__` is its public API."""
    missing = [p.relative_to(ROOT).as_posix() for p in packages() if not (p / "__init__.py").is_file()]
    assert not missing, f"folders of code without __init__.py: {missing}"
    unnamed = []
    for pkg in packages():
        tree = ast.parse((pkg / "__init__.py").read_text())
        exports = [n for n in tree.body if isinstance(n, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)]
        if not ast.get_docstring(tree) or not exports:
            unnamed.append(pkg.relative_to(ROOT).as_posix())
    assert not unnamed, f"packages whose __init__ has no docstring or no __all__: {unnamed}"


@pytest.mark.parametrize("layer", list(FLOORS))
def test_every_exported_name_exists(layer):
    import importlib

    for pkg in packages():
        if pkg.relative_to(ROOT).parts[0] != layer:
            continue
        name = ".".join(["hvla", *pkg.relative_to(ROOT).parts])
        module = importlib.import_module(name)
        for export in getattr(module, "__all__", ()):
            assert hasattr(module, export), f"{name}.__all__ names {export}, which it does not define"
