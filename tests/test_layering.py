"""Imports point down the hierarchy: core < sim < controllers < perception | planner | skills < orchestration.

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

# What each layer may import from hvla, besides itself.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "sim": {"core"},
    "controllers": {"core"},
    "perception": {"core", "sim", "controllers"},
    "planner": {"core", "sim", "controllers"},
    "skills": {"core", "sim", "controllers"},
    "orchestration": {"core", "sim", "controllers", "perception", "planner", "skills"},
}


# Tools on top of the stack that live beside their layer (the skills' recording/DAgger/benchmark runner, teleoperation
# and its CLI) may import anything, orchestration included; no library module may import them.
TOOLS: dict[str, str] = {"skills/runner.py": "hvla.skills.runner", "skills/cli.py": "hvla.skills.cli",
                         "skills/teleop.py": "hvla.skills.teleop"}
# The hvla command mounts the tools' command groups; the console serves teleoperation.
TOOL_USERS = ("orchestration/cli.py", "orchestration/console_teleop.py")


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
            upward = target is not None and target != layer and target not in ALLOWED[layer]
            into_tool = any(name == t or name.startswith(f"{t}.") for t in TOOLS.values())
            if (upward or (into_tool and rel not in TOOL_USERS)) and rel not in TOOLS:
                bad.append(f"{rel}:{line} imports {name}")
    return bad


def test_every_package_has_a_place_in_the_hierarchy():
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name in ALLOWED}
    assert packages == set(ALLOWED), f"layers without a package: {set(ALLOWED) - packages}"
    pyproject = (ROOT / "pyproject.toml").read_text()
    for layer in ALLOWED:
        assert f'"hvla.{layer}"' in pyproject


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
    (fake / "runner.py").write_text("from hvla.orchestration.executor import Executor\n")  # a tool: allowed
    (fake / "uses_tool.py").write_text("from hvla.skills import runner\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations("skills") == [
        "skills/sub/bad.py:2 imports hvla.planner",
        "skills/sub/bad.py:5 imports hvla.orchestration.cli",
        "skills/uses_tool.py:1 imports hvla.skills.runner",
    ]
