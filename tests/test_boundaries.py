"""Architecture checks: imports flow cli → engine → steps → adapters, and core code never imports
click or rich (DESIGN §3)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import srmctl

PACKAGE = Path(srmctl.__file__).parent
CORE = ["adapters", "engine", "steps", "runbook", "metadata", "lab", "labkit", "srmsim"]
# A layer may import only the layers listed for it (and errors, and itself).
ALLOWED = {
    "adapters": {"adapters"},
    "steps": {"steps", "adapters", "metadata", "runbook"},
    "metadata": {"metadata", "adapters", "runbook"},
    "runbook": {"runbook"},
    "engine": {"engine", "steps", "adapters", "metadata", "runbook", "lab"},
    "lab": {"lab", "adapters", "labkit", "srmsim"},
    "labkit": {"labkit"},
    "srmsim": {"srmsim", "adapters", "labkit", "metadata"},
}


def _srmctl_imports(path: Path) -> set[str]:
    layers = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "srmctl" and len(parts) > 1 and parts[1] not in ("errors",):
                layers.add(parts[1])
            if parts[0] in ("click", "rich"):
                layers.add(parts[0])
    return layers


def test_layers_import_only_downwards() -> None:
    violations = []
    for layer, allowed in ALLOWED.items():
        for path in (PACKAGE / layer).rglob("*.py"):
            bad = _srmctl_imports(path) - allowed
            if bad:
                violations.append(f"{path.relative_to(PACKAGE.parent)} imports {sorted(bad)}")
    assert violations == []


def test_core_modules_load_without_click_or_rich() -> None:
    modules = [f"srmctl.{layer}" for layer in CORE]
    submodules = [f"srmctl.{p.relative_to(PACKAGE).with_suffix('').as_posix().replace('/', '.')}"
                  for layer in CORE for p in (PACKAGE / layer).rglob("*.py")
                  if p.name not in ("__init__.py", "__main__.py")]
    # httpx imports click and rich opportunistically for its own CLI (and copes when they are absent),
    # so blocking them makes any import by srmctl's core code fail loudly while third parties still load.
    code = (
        "import importlib, sys\n"
        "sys.modules['click'] = None\n"
        "sys.modules['rich'] = None\n"
        f"for m in {modules + submodules!r}: importlib.import_module(m)\n"
        "print('loaded', len(sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("loaded")


def test_only_adapters_and_simulators_talk_to_the_network() -> None:
    network = {"pyVmomi", "pyVim", "httpx", "socket", "ssl", "http"}
    violations = []
    for layer in ("engine", "steps", "metadata", "runbook", "cli"):
        for path in (PACKAGE / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    roots = {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    roots = {node.module.split(".")[0]}
                else:
                    continue
                if roots & network:
                    violations.append(f"{path.relative_to(PACKAGE.parent)}: {sorted(roots & network)}")
    assert violations == []
