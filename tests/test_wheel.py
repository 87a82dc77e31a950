"""The wheel: `pip wheel .` ships every hvla module, the committed artefacts and the console's page,
and the installed `hvla` plans from any folder with the artefacts inside the package.

The build runs on a copy of the files git would ship (tracked or new, not ignored): an earlier in-tree
build leaves build/lib behind, and setuptools would put modules removed since into the wheel. The fresh
venv sees the dependencies through a .pth naming this venv's site-packages (torch is not installed
twice). A path line in a .pth does not run that folder's own .pth files, so hvla's editable finder stays
out; the other .pth files there (cmeel's, which puts pinocchio on the path) are copied over.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ("__init__.py", "pyproject.toml", "setup.py", "README.md", "artifacts")
NOT_LAYERS = {"tests", "benchmarks", "examples", "data", "runs", "docs", "artifacts", "build"}
INSTRUCTION = "put the banana in the bowl"


def layers() -> list[str]:
    return sorted(p.parent.name for p in ROOT.glob("*/__init__.py")
                  if p.parent.name not in NOT_LAYERS and not p.parent.name.startswith("."))


def source_files() -> list[str]:
    """What a build of this working tree reads: git's tracked and new files, deleted ones left out."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
                             *BUILD_INPUTS, *layers()], cwd=ROOT, capture_output=True, text=True, check=True)
    return sorted(f for f in listed.stdout.split("\0") if f and (ROOT / f).is_file())


def module_name(path: str) -> str:
    """"skills/e2e/model.py" -> "hvla.skills.e2e.model"; "core/__init__.py" -> "hvla.core"."""
    parts = ["hvla", *Path(path).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules() -> set[str]:
    return {module_name(f) for f in source_files() if f.endswith(".py") and f != "setup.py"}


def run(*cmd: str | Path, **kw) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done


def clean_env(**extra: str) -> dict[str, str]:
    drop = ("PYTHONPATH", "HVLA_ARTIFACTS", "HVLA_CACHE", "HVLA_LOG", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop} | extra


def fresh_venv(root: Path) -> dict[str, Path]:
    """A venv at `root` without pip or packages, that sees this venv's dependencies (not its hvla)."""
    run(sys.executable, "-m", "venv", "--without-pip", root)
    python = root / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    ours = Path(sysconfig.get_paths()["purelib"])
    lines = [str(ours)] + [p.read_text().strip() for p in sorted(ours.glob("*.pth"))
                           if not p.name.startswith("__editable__")]
    (site / "hvla_dependencies.pth").write_text("\n".join(lines) + "\n")
    return {"python": python, "hvla": root / "bin" / "hvla", "site": site, "package": site / "hvla"}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for rel in source_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    return src


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory) -> Path:
    src = source
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", out, cwd=src)
    (built,) = out.glob("hvla-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> dict[str, Path]:
    """A fresh venv with the wheel installed, the dependencies borrowed from this one."""
    made = fresh_venv(tmp_path_factory.mktemp("venv"))
    run(sys.executable, "-m", "pip", "--python", made["python"], "install", "--no-deps", "-q", wheel)
    return made


def test_the_wheel_holds_every_module_the_committed_artefacts_and_the_console_page(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {module_name(n.removeprefix("hvla/")) for n in names if n.startswith("hvla/") and n.endswith(".py")}
    assert shipped == source_modules()
    archive = zipfile.ZipFile(wheel)
    manifest = [json.loads(line) for line in archive.read("hvla/artifacts/MANIFEST").decode().splitlines() if line]
    assert {e["path"] for e in manifest} >= {"perception/yolo11n_seg_kitchen.pt", "planner_head.npz",
                                             "skills/policy.pt", "perception/geometry_calibration.json"}
    for entry in manifest:
        assert hashlib.sha256(archive.read(f"hvla/artifacts/{entry['path']}")).hexdigest() == entry["sha256"]
    assert {"hvla/orchestration/console_page/index.html", "hvla/orchestration/console_page/console.js"} <= set(names)
    assert not [n for n in names if n.startswith("hvla/") and n.count("/") == 1 and not n.endswith(".py")]  # README..


IMPORT_ALL = """
import importlib, json, pathlib, sys, hvla
package = pathlib.Path(hvla.__file__).parent
names = sorted({".".join(("hvla", *p.relative_to(package).with_suffix("").parts)).removesuffix(".__init__")
                for p in package.rglob("*.py")})
failed = {}
for name in names:
    if name.endswith(".__main__"):  # running it is importing it: its package imports is enough
        continue
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed[name] = repr(exc)
print(json.dumps({"file": hvla.__file__, "modules": names, "failed": failed}))
"""


def test_every_module_of_the_source_tree_imports_from_the_installed_package(venv, tmp_path):
    done = run(venv["python"], "-c", IMPORT_ALL, cwd=tmp_path, env=clean_env())
    found = json.loads(done.stdout.splitlines()[-1])
    assert Path(found["file"]).parent == venv["package"]  # the wheel, not the editable checkout
    assert set(found["modules"]) == source_modules()
    assert found["failed"] == {}


def test_the_installed_hvla_plans_from_any_folder_with_the_artefacts_of_the_package(venv, tmp_path):
    before = {p for p in venv["package"].rglob("*") if "__pycache__" not in p.parts}
    env = clean_env(HVLA_LOG=str(tmp_path / "hvla.log"), XDG_CACHE_HOME=str(tmp_path / "cache"),
                    YOLO_CONFIG_DIR=str(tmp_path / "yolo"))
    done = run(venv["hvla"], "plan", INSTRUCTION, "--json", cwd=tmp_path, env=env)
    plan = json.loads(done.stdout)
    subgoals = [(s["skill"], s["args"]) for s in plan["subgoals"]]
    assert subgoals == [("pick_place", {"object": "banana", "target": "bowl"})]
    loaded = [line for line in (tmp_path / "hvla.log").read_text().splitlines() if "hvla.core.artifacts" in line]
    assert any("perception/yolo11n_seg_kitchen.pt" in line for line in loaded), loaded
    assert all(f"from {venv['package'] / 'artifacts'}/" in line and "(installed package)" in line for line in loaded)
    assert list((tmp_path / "cache" / "hvla" / "perception").glob("*.onnx"))  # the export went to the user's cache
    assert {p for p in venv["package"].rglob("*") if "__pycache__" not in p.parts} == before


def test_an_installed_package_refuses_to_register_artefacts_into_itself(venv, tmp_path):
    code = "from hvla.core.artifacts import writable_artifacts_dir; writable_artifacts_dir()"
    done = subprocess.run([str(venv["python"]), "-c", code], cwd=tmp_path, env=clean_env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and "ReadOnlyArtifactsError" in done.stderr and "HVLA_ARTIFACTS" in done.stderr
    mine = tmp_path / "mine"
    run(venv["python"], "-c", code, cwd=tmp_path, env=clean_env(HVLA_ARTIFACTS=str(mine)))
    assert mine.is_dir()


def test_the_editable_install_of_make_test_maps_the_checkout_namespaces_included(source, tmp_path):
    made = fresh_venv(tmp_path / "venv")
    run(sys.executable, "-m", "pip", "--python", made["python"], "install", "--no-deps", "--no-build-isolation", "-q",
        "-e", source)
    code = ("import json, hvla.orchestration.teleop.console as t, hvla.skills.e2e as e, hvla.core.artifacts as a; "
            "print(json.dumps([t.__file__, e.__file__, a.search_path()[0].origin]))")
    teleop, e2e, origin = json.loads(run(made["python"], "-c", code, cwd=tmp_path, env=clean_env()).stdout)
    assert Path(teleop).is_relative_to(source) and Path(e2e).is_relative_to(source)
    assert origin == "source checkout"
