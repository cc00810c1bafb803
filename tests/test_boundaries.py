"""Architecture checks: imports flow cli → engine → steps → adapters, core code never imports click or rich,
only adapters and the simulators talk to the network, no module imports a command module, and no private name
crosses modules (see docs/architecture.md).

The rules live in ``import_rules`` (tests/fixtures); the synthetic trees below prove that the checker reports
each kind of violation, so a checker that silently stopped looking would fail here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from import_rules import PACKAGE, Violation, check_tree

import srmctl

ROOT = Path(srmctl.__file__).parent.parent
CORE = ["adapters", "engine", "steps", "runbook", "metadata", "lab", "labkit", "srmsim"]


def _real_violations() -> list[Violation]:
    return check_tree(ROOT)


def _srmsim_imports_lab(v: Violation) -> bool:
    return v.rule == "layer" and v.layer == "srmsim" and v.target.startswith(f"{PACKAGE}.lab")


def test_layers_import_only_downwards() -> None:
    # srmsim → lab has its own test below, which names the offending imports on their own.
    violations = [str(v) for v in _real_violations() if v.rule == "layer" and not _srmsim_imports_lab(v)]
    assert violations == []


def test_srmsim_does_not_import_lab() -> None:
    assert [str(v) for v in _real_violations() if _srmsim_imports_lab(v)] == []


def test_core_never_imports_click_or_rich() -> None:
    assert [str(v) for v in _real_violations() if v.rule == "ui"] == []


def test_core_modules_load_without_click_or_rich() -> None:
    package = ROOT / PACKAGE
    modules = [f"srmctl.{layer}" for layer in CORE]
    submodules = [
        f"srmctl.{p.relative_to(package).with_suffix('').as_posix().replace('/', '.')}"
        for layer in CORE
        for p in (package / layer).rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
    ]
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
    assert [str(v) for v in _real_violations() if v.rule == "network"] == []


def test_no_module_imports_a_command() -> None:
    # What commands share lives in CLI modules outside commands/ (docs/architecture.md, "Layers").
    assert [str(v) for v in _real_violations() if v.rule == "command"] == []


def test_no_private_name_is_imported_across_modules() -> None:
    assert [str(v) for v in _real_violations() if v.rule == "private"] == []


# --- the checker itself, on synthetic trees ----------------------------------------------------------------

_LAYERS = ("cli", "engine", "steps", "adapters", "metadata", "runbook", "lab", "srmsim")

#: Imports every rule allows, in every form the checker resolves; a tree of only these yields nothing.
_CLEAN: dict[str, str] = {
    "srmctl/__init__.py": "__version__ = '0'\n",
    "srmctl/errors.py": "from collections.abc import Sequence\n",
    "srmctl/cli/main.py": "import click\nfrom rich.table import Table\nfrom srmctl import __version__, engine\n"
    "from srmctl.errors import SrmctlError\nimport importlib\n"
    "importlib.import_module('srmctl.engine.run')\n",
    # the group finds command modules by name; commands share CLI modules outside commands/
    "srmctl/cli/group.py": "import importlib\nfrom srmctl.cli import commands\n"
    "def load(name):\n    return importlib.import_module(f'{commands.__name__}.{name}')\n",
    "srmctl/cli/views.py": "from srmctl.cli.envelope import envelope\n",
    "srmctl/cli/envelope.py": "envelope = str\n",
    "srmctl/cli/commands/__init__.py": "",
    "srmctl/cli/commands/run.py": "import click\nfrom srmctl.cli.views import envelope\nfrom srmctl.cli import views\n"
    "from .. import render\n",
    "srmctl/engine/run.py": "from srmctl.steps import base\nfrom . import journal\nfrom .journal import x\n"
    "from ..steps.base import Step\nimport srmctl.adapters.dr\nfrom srmctl import errors\n"
    "def f():\n    from srmctl.metadata import snapshot\n    import json\n",
    "srmctl/engine/journal.py": "x = 1\n",
    "srmctl/steps/base.py": "from ..adapters import dr\nfrom srmctl.runbook import models\nfrom . import base\n"
    "Step = object\n",
    "srmctl/adapters/dr.py": "import httpx\nimport ssl\nimport socket\nfrom pyVmomi import vim\n",
    "srmctl/metadata/snapshot.py": "from srmctl.runbook.models import Duration\nfrom srmctl.adapters import dr\n",
    "srmctl/runbook/models.py": "import pydantic\nfrom .checks import cross_checks\nfrom . import _common\n"
    "from srmctl.runbook._common import shared\n",
    "srmctl/runbook/_common.py": "shared = 1\n_hidden = 2\n",
    "srmctl/runbook/checks.py": "from srmctl.runbook import models\n",
    "srmctl/lab/lab.py": "from srmctl.srmsim import launcher\nimport asyncio\nfrom http import server\n",
    "srmctl/srmsim/launcher.py": "from http.server import HTTPServer\nimport urllib.request\n"
    "from srmctl.metadata import snapshot\nimport aiohttp\n",
}

#: One violation of each kind: (file, source, rule, importing layer, resolved target).
_SEEDED: list[tuple[str, str, str, str, str]] = [
    # layers, every import form
    ("srmctl/steps/s_from_package.py", "from srmctl import engine\n", "layer", "steps", "srmctl.engine"),
    ("srmctl/steps/s_relative_up.py", "from ..engine import run\n", "layer", "steps", "srmctl.engine"),
    ("srmctl/errors.py", "from . import steps\n", "layer", "errors", "srmctl.steps"),
    ("srmctl/steps/s_in_function.py", "def f():\n    import srmctl.cli.main\n", "layer", "steps", "srmctl.cli.main"),
    (
        "srmctl/steps/s_import_module.py",
        "import importlib\nimportlib.import_module('srmctl.engine.run')\n",
        "layer",
        "steps",
        "srmctl.engine.run",
    ),
    (
        "srmctl/adapters/a_bare_import_module.py",
        "from importlib import import_module\nimport_module('..steps', 'srmctl.adapters')\n",
        "layer",
        "adapters",
        "srmctl.steps",
    ),
    ("srmctl/adapters/a_dunder_import.py", "__import__('srmctl.metadata')\n", "layer", "adapters", "srmctl.metadata"),
    ("srmctl/engine/e_cli.py", "from srmctl.cli.envelope import envelope\n", "layer", "engine", "srmctl.cli.envelope"),
    (
        "srmctl/metadata/m_engine.py",
        "import srmctl.engine.journal as j\n",
        "layer",
        "metadata",
        "srmctl.engine.journal",
    ),
    ("srmctl/runbook/r_metadata.py", "from srmctl.metadata import snapshot\n", "layer", "runbook", "srmctl.metadata"),
    ("srmctl/lab/l_engine.py", "from srmctl.engine import run\n", "layer", "lab", "srmctl.engine"),
    ("srmctl/engine/e_lab.py", "def f():\n    from srmctl.lab import config\n", "layer", "engine", "srmctl.lab"),
    ("srmctl/srmsim/s_lab.py", "from srmctl.lab.topology import load\n", "layer", "srmsim", "srmctl.lab.topology"),
    # click and rich only in the CLI
    ("srmctl/engine/e_click.py", "import click\n", "ui", "engine", "click"),
    ("srmctl/runbook/r_rich.py", "from rich.console import Console\n", "ui", "runbook", "rich.console"),
    ("srmctl/lab/l_click.py", "def f():\n    import click\n", "ui", "lab", "click"),
    ("srmctl/srmsim/s_rich.py", "from rich import print\n", "ui", "srmsim", "rich"),
    # the network only in adapters and the simulators
    *[
        (f"srmctl/{layer}/n_{name}.py", source, "network", layer, target)
        for layer, name, source, target in [
            ("engine", "urllib", "from urllib.request import urlopen\n", "urllib.request"),
            ("steps", "socket", "import socket\n", "socket"),
            ("metadata", "ssl", "def f():\n    import ssl\n", "ssl"),
            ("runbook", "http", "from http.client import HTTPSConnection\n", "http.client"),
            ("cli", "requests", "import requests\n", "requests"),
            ("engine", "urllib3", "import urllib3\n", "urllib3"),
            ("steps", "aiohttp", "import aiohttp\n", "aiohttp"),
            ("cli", "asyncio", "import asyncio\n", "asyncio"),
            ("engine", "httpx", "import httpx\n", "httpx"),
            ("steps", "pyVmomi", "from pyVmomi import vim\n", "pyVmomi"),
            ("metadata", "import_module", "import importlib\nimportlib.import_module('httpx')\n", "httpx"),
        ]
    ],
    # no module imports a command module: not another command, not a CLI module (a circle through the command)
    *[
        (path, source, "command", "cli", "srmctl.cli.commands.run")
        for path, source in [
            ("srmctl/cli/commands/c_absolute.py", "from srmctl.cli.commands.run import envelope\n"),
            ("srmctl/cli/commands/c_relative.py", "from . import run\n"),
            ("srmctl/cli/commands/c_relative_module.py", "from .run import envelope\n"),
            ("srmctl/cli/commands/c_package.py", "from srmctl.cli.commands import run\n"),
            ("srmctl/cli/c_back_in_function.py", "def f():\n    from srmctl.cli.commands.run import envelope\n"),
            ("srmctl/cli/c_import_module.py", "import importlib\nimportlib.import_module('srmctl.cli.commands.run')\n"),
        ]
    ],
    # no private name crosses modules, in any form and at any depth
    (
        "srmctl/engine/p_from.py",
        "from srmctl.engine.journal import x, _hidden\n",
        "private",
        "engine",
        "srmctl.engine.journal._hidden",
    ),
    (
        "srmctl/runbook/p_relative.py",
        "from ._common import shared, _hidden\n",
        "private",
        "runbook",
        "srmctl.runbook._common._hidden",
    ),
    (
        "srmctl/srmsim/p_in_function.py",
        "def f():\n    from srmctl.srmsim.launcher import _Run as Run\n",
        "private",
        "srmsim",
        "srmctl.srmsim.launcher._Run",
    ),
    (
        "srmctl/metadata/p_submodule.py",
        "from srmctl.runbook import _common\n",
        "private",
        "metadata",
        "srmctl.runbook._common",
    ),
]


def _write_tree(root: Path, files: dict[str, str]) -> Path:
    for layer in _LAYERS:
        (root / PACKAGE / layer).mkdir(parents=True, exist_ok=True)
        (root / PACKAGE / layer / "__init__.py").touch()
    for rel, source in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(source)
    return root


def test_checker_finds_nothing_in_a_clean_tree(tmp_path: Path) -> None:
    assert [str(v) for v in check_tree(_write_tree(tmp_path, _CLEAN))] == []


def test_checker_reports_every_seeded_violation(tmp_path: Path) -> None:
    files = {**_CLEAN, **{path: source for path, source, *_ in _SEEDED}}
    found = check_tree(_write_tree(tmp_path, files))
    expected = {(path, rule, layer, target) for path, _, rule, layer, target in _SEEDED}
    assert {(v.path, v.rule, v.layer, v.target) for v in found} == expected
    assert len(found) == len(_SEEDED)  # one report per seeded import, none twice
    assert all(v.line >= 1 for v in found)


def test_checker_names_the_line(tmp_path: Path) -> None:
    files = {**_CLEAN, "srmctl/steps/late.py": "import json\n\n\ndef f():\n    from srmctl import engine\n"}
    (found,) = check_tree(_write_tree(tmp_path, files))
    assert str(found) == "srmctl/steps/late.py:5: layer: steps imports srmctl.engine"
