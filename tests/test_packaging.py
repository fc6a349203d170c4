"""What a non-editable install gets: every package, the configs inside it, the console scripts;
and tools/ stays a set of thin entry points (no tool imports another)."""
import ast
import importlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_package_is_listed_for_the_wheel():
    listed = set(PROJECT["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "hl_detect").rglob("__init__.py")}
    assert listed == found | {"hl_detect.configs"}, "pyproject.toml [tool.setuptools] packages must name every package"


def test_console_scripts_are_package_functions():
    scripts = PROJECT["project"]["scripts"]
    assert {"hl-train", "hl-eval", "hl-predict", "hl-check-dataset"} <= set(scripts)
    for target in scripts.values():
        module, name = target.split(":")
        assert callable(getattr(importlib.import_module(module), name)), target


def test_no_tool_imports_another_tool():
    tools = {p.stem for p in (REPO / "tools").glob("*.py")}
    for path in (REPO / "tools").glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert not imported & tools, f"{path.name} imports {imported & tools}: share a package function instead"


def test_the_installed_package_finds_its_configs(tmp_path):
    """Build the wheel, unpack it away from the checkout, and load the presets from there."""
    source = tmp_path / "source"  # a copy: setuptools leaves build/ and *.egg-info beside the sources
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("hl_detect", "configs"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(source)]
    if importlib.util.find_spec("setuptools") is not None:
        build.insert(4, "--no-build-isolation")  # the installed setuptools; no download
    subprocess.run(build, check=True, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("hl_detect-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    assert (site / "hl_detect" / "configs" / "base.yaml").is_file()
    probe = ("import hl_detect.run.config as c; "
             "print(c.__file__); print(c.dataset_config_path('demo')); print(c.load_config([c.dataset_config_path('demo')])['loss'])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, check=True).stdout.splitlines()
    assert out[0].startswith(str(site)), out  # the unpacked copy, not the checkout
    assert out[1] == str(site / "hl_detect" / "configs" / "demo.yaml")
    assert out[2]  # the demo's loss, read through base.yaml's chain
