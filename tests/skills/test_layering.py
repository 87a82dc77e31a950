import ast
from pathlib import Path

import hvla.skills

WIRING = {"cli.py", "runner.py", "teleop.py"}  # tools on top of the stack: they borrow the executor loop


def test_skill_library_modules_never_import_orchestration():
    root = Path(hvla.skills.__file__).parent
    for path in root.rglob("*.py"):
        if path.relative_to(root).as_posix() in WIRING:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            for name in names:
                assert not name.startswith(("hvla.orchestration", "hvla.planner")), f"{path} imports {name}"
