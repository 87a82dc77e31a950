import ast
from pathlib import Path

import hvla.controllers

UPPER = ("hvla.planner", "hvla.perception", "hvla.skills", "hvla.orchestration", "hvla.sim")


def test_controllers_import_only_core_and_themselves():
    root = Path(hvla.controllers.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(UPPER), f"{path.name} imports {name}: imports must point down"
