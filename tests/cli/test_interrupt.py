"""Ctrl-C at any point of start-up ends as "srmctl: aborted" and exit 130, never a traceback (issue #13).

Deterministic: the child runs the real entry point with an import hook that sends the process SIGINT
when a chosen module starts importing, so the KeyboardInterrupt is raised inside that import, at exactly
that point of start-up.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import srmctl
from srmctl.cli import main as entry
from srmctl.errors import ExitCode

RUNBOOK = Path(srmctl.__file__).parent.parent / "playbooks" / "lab.yaml"

_CHILD = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # also when the test runs with SIGINT ignored
target = sys.argv[1]
class Interrupt:
    def find_spec(self, name, path=None, target_module=None):
        if name == target:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)  # the handler raises KeyboardInterrupt inside this import
        return None
sys.meta_path.insert(0, Interrupt())
sys.argv = ["srmctl", *sys.argv[2:]]
from srmctl.cli.main import main
main()
"""


@pytest.mark.parametrize(
    ("module", "args"),
    [
        # main() importing the root group: click itself, then srmctl's CLI modules
        ("click", ("schema",)),
        ("srmctl.cli.app", ("schema",)),
        # the root group parsing its options: --help imports every command module before any command runs
        ("srmctl.cli.commands.validate", ("--help",)),
        # the group resolving the command, and the command importing what it needs
        ("srmctl.cli.commands.schema", ("schema",)),
        ("srmctl.runbook", ("validate", str(RUNBOOK))),
    ],
    ids=["click", "cli-app", "help-lists-commands", "command-module", "command-body"],
)
def test_ctrl_c_during_start_up_is_aborted_130(tmp_path: Path, module: str, args: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, module, *args], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == ExitCode.ABORTED, done.stderr
    assert done.stderr.strip() == "srmctl: aborted"
    assert done.stdout == ""


def test_the_entry_point_exits_like_exit_code_aborted() -> None:
    assert entry.ABORTED == ExitCode.ABORTED
