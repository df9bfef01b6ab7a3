"""The kit's floors run one way (docs/architecture.md): an AST walk over every module, lazy
imports inside functions included, fails on any import from a lower floor to a higher one
or sideways between the stages; every module imports (no dangling import survives a move);
`bedside.contract` loads neither TensorFlow nor the TFLM wheel."""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the source folder of each installed package prefix (pyproject.toml's package-dir)
FOLDERS = {"bedside": "bedside", "bedside.training": "training",
           "bedside.converter": "converter", "bedside.host_tools": "host_tools"}

# (prefix, floor): the longest matching prefix decides a module's floor
FLOORS = [
    ("bedside.contract", 0),
    ("bedside", 1),                 # kit utilities: fileio, rundir, runinfo, boards, banner, ...
    ("bedside.reference", 2), ("bedside.sources", 2),
    ("bedside.training", 3), ("bedside.converter", 3), ("bedside.host_tools", 3),
    ("bedside.bench", 4), ("bedside.demo", 4), ("bedside.cli", 4), ("bedside.docs", 4),
]
STAGES = ("bedside.training", "bedside.converter", "bedside.host_tools")


def _prefix(module: str) -> str:
    best = max((p for p, _ in FLOORS if module == p or module.startswith(p + ".")), key=len)
    return best


def _floor(module: str) -> int:
    return dict(FLOORS)[_prefix(module)]


def _modules() -> dict[str, Path]:
    out = {}
    for prefix, folder in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("").parts
            if folder == "bedside" and rel[0] in ("training", "converter", "host_tools"):
                continue
            parts = [prefix, *rel]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(module: str, path: Path):
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            yield node.lineno, target
            for a in node.names:        # `from pkg import module`
                if f"{target}.{a.name}" in MODULES:
                    yield node.lineno, f"{target}.{a.name}"


def test_floors_run_one_way():
    wrong = []
    for module, path in MODULES.items():
        mine = _floor(module)
        for line, target in _imports(module, path):
            if not (target == "bedside" or target.startswith("bedside.")) or target == "bedside":
                continue
            theirs = _floor(target)
            rel = path.relative_to(ROOT)
            if theirs > mine:
                wrong.append(f"{rel}:{line}: {module} (floor {mine}) imports {target} (floor {theirs})")
            elif (theirs == mine == 3 and _prefix(module) != _prefix(target)):
                wrong.append(f"{rel}:{line}: stage {_prefix(module)} imports another stage: {target}")
    assert not wrong, "\n".join(wrong)


def test_the_floor_rules_catch_a_wrong_import(tmp_path):
    """The walk itself: a contract module importing a stage is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from bedside.host_tools.link import client\n")
    found = [t for _, t in _imports("bedside.contract.bad", bad)]
    assert "bedside.host_tools.link.client" in found
    assert _floor("bedside.host_tools.link.client") > _floor("bedside.contract.bad")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_imports(module):
    importlib.import_module(module)


def test_contract_loads_no_tensorflow_or_tflm():
    code = ("import sys, pkgutil, importlib, bedside.contract as c\n"
            "for m in pkgutil.iter_modules(c.__path__): importlib.import_module('bedside.contract.' + m.name)\n"
            "print(','.join(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'tflite_micro')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.strip()
    assert out == ""
