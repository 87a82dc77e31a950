"""The examples curriculum runs headless, top to bottom, and prints what it claims to show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# Each example and lines (substrings) its output must contain.
EXPECTED: dict[str, tuple[str, ...]] = {
    "01_ik_reach.py": ("above the table centre", "UnreachableError for a far target", "beyond the arm's reach"),
    "02_perceive_scene.py": (
        "2 cameras rendered", "camera scene", "camera wrist", "banana", "light yellow", "scene camera image written",
    ),
    "03_single_skill.py": (
        "subgoal_started", "predicate_met", "subgoal_succeeded", "banana is in the bowl: True",
        "subgoal s0 pick_place: succeeded", "success: True",
    ),
    "04_plan_and_run.py": (
        "s0: pick_place(object=banana, target=bowl)", "s1: wipe(", "ordering edges: [['s0', 's1']]",
        "refused: could not ground 'the unicorn'", "executed: success=True", "state=complete, incomplete=False",
    ),
    "05_custom_skill_graph.py": (
        "ordering edges: [('apple', 'wipe'), ('banana', 'wipe'), ('wipe', 'point')]",
        "subgoal point   point_at   succeeded", "apple rests in: cup", "success: True",
    ),
}
# Files (relative to the working directory) an example leaves behind.
WRITES = {"02_perceive_scene.py": "runs/examples/02_scene_seed3.png", "04_plan_and_run.py": "runs/examples/logs"}
MARKS = {"02_perceive_scene.py": [pytest.mark.render]}


def run_example(name: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_every_example_is_covered_and_numbered():
    names = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert names == sorted(EXPECTED)
    assert [n[:2] for n in names] == [f"{i:02d}" for i in range(1, len(names) + 1)]


def test_examples_patch_no_sys_path_and_stay_short():
    for path in EXAMPLES.glob("*.py"):
        text = path.read_text()
        assert "sys.path" not in text, path.name
        assert len(text.splitlines()) <= 110, f"{path.name} has grown past ~100 lines"


@pytest.mark.parametrize("name", [pytest.param(n, marks=MARKS.get(n, [])) for n in EXPECTED])
def test_example_runs_headless_and_prints_what_happened(name, tmp_path):
    done = run_example(name, tmp_path)
    assert done.returncode == 0, f"{name} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    missing = [line for line in EXPECTED[name] if line not in done.stdout]
    assert not missing, f"{name} did not print {missing}\n{done.stdout}"
    if name in WRITES:
        assert (tmp_path / WRITES[name]).exists(), f"{name} did not write {WRITES[name]}"
