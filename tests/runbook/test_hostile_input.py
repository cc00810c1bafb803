"""Hostile runbooks (issue #13): nesting, huge values, files too big or not files at all, text that is not
YAML. Each is refused with ``path:LINE:COL`` and exit code 3, also under ``-o json``; none ends in a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from srmctl.cli.main import cli
from srmctl.errors import RunbookInvalid
from srmctl.runbook import load_runbook
from srmctl.runbook.source import MAX_BYTES, MAX_DEPTH

MINIMAL = (Path(__file__).parent / "good" / "minimal.yaml").read_text()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def write(tmp_path: Path, text: str, name: str = "rb.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(RunbookInvalid) as caught:
        load_runbook(path)
    return caught.value.problems


@pytest.mark.parametrize("opener,closer", [("[", "]"), ("{a: ", "}")])
def test_deep_nesting_is_refused_at_the_limit(tmp_path: Path, opener: str, closer: str) -> None:
    path = write(tmp_path, opener * 500 + "1" + closer * 500)
    [problem] = problems_of(path)
    where, message = problem.split(": ", 1)
    assert message == f"(root): nested more than {MAX_DEPTH} levels deep"
    line, column = map(int, where.rsplit(":", 2)[1:])
    # Points at the first node too deep: the 64th '[' (or the key inside the 64th '{').
    assert line == 1 and len(opener) * (MAX_DEPTH - 1) < column <= len(opener) * MAX_DEPTH + 1


def test_deep_nesting_under_json_output_is_an_error_envelope(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nname: " + "[" * 300 + "]" * 300 + "\n")
    result = run("validate", str(path), "-o", "json")
    assert result.exit_code == 3, result.output
    doc = json.loads(result.stdout)
    assert doc["error"]["code"] == "runbook_invalid"
    assert doc["error"]["problems"] == [f"{path}:2:{7 + MAX_DEPTH - 1}: (root): nested more than 64 levels deep"]


def test_nesting_just_under_the_limit_is_only_a_type_finding(tmp_path: Path) -> None:
    depth = MAX_DEPTH - 2  # the root mapping and the scalar innermost count too
    path = write(tmp_path, MINIMAL + "description: " + "[" * depth + "x" + "]" * depth + "\n")
    assert [p.split(": ", 1)[1] for p in problems_of(path)] == ["description: expected a string, got a list"]


@pytest.mark.parametrize(
    "key,value,text",
    [
        ("replication.rpo", "1000000000d", "replication: {rpo: 1000000000d}"),
        ("snapshot.max_age", "9999999999d", "snapshot: {max_age: 9999999999d}"),
        ("snapshot.max_age", "3651d", "snapshot: {max_age: 3651d}"),
        ("snapshot.max_age", "9" * 5000 + "s", "snapshot: {max_age: " + "9" * 5000 + "s}"),
    ],
)
def test_huge_durations_are_refused(tmp_path: Path, key: str, value: str, text: str) -> None:
    base = MINIMAL.replace("replication: {rpo: 15m}\n", "") if key == "replication.rpo" else MINIMAL
    path = write(tmp_path, base + text + "\n")
    [problem] = problems_of(path)
    line = len(base.splitlines()) + 1
    assert problem.startswith(f"{path}:{line}:")
    assert problem.endswith(f"{key}: must be at most 3650d, got {value[:40]!r}")


def test_the_longest_duration_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "snapshot: {max_age: 3650d}\n")
    assert load_runbook(path).snapshot.max_age is not None


def test_other_findings_are_still_reported_with_a_huge_duration(tmp_path: Path) -> None:
    text = MINIMAL.replace("rpo: 15m", "rpo: 1000000000d").replace("scenario: planned-migration", "scenario: x")
    problems = problems_of(write(tmp_path, text))
    assert len(problems) == 2
    assert "scenario: expected one of" in problems[0]
    assert "replication.rpo: must be at most 3650d" in problems[1]


def test_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "#" * MAX_BYTES + "\n")
    assert problems_of(path) == [f"{path}:1:1: (root): runbook is larger than 1024 KiB: not read"]


def test_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    padding = MAX_BYTES - len(MINIMAL.encode()) - 1
    path = write(tmp_path, MINIMAL + "#" * padding + "\n")
    assert path.stat().st_size == MAX_BYTES
    assert load_runbook(path).name == "web-back"


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused_without_reading(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    result = run("validate", device, "-o", "json")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["error"]["problems"] == [
        f"{device}:1:1: (root): cannot read runbook: not a regular file"
    ]


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert problems_of(fifo) == [f"{fifo}:1:1: (root): cannot read runbook: not a regular file"]


def test_binary_file_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "rb.yaml"
    path.write_bytes(bytes(range(256)) * 4)  # byte 10 is a newline; 128 the first that is not UTF-8
    assert problems_of(path) == [f"{path}:2:118: (root): not UTF-8 text"]


def test_control_character_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nname: a\x00b\n")
    assert problems_of(path) == [f"{path}:2:8: (root): character U+0000 is not allowed in YAML text"]


@pytest.mark.parametrize(
    "line,message",
    [
        (
            "description: 2024-13-45",
            "description: invalid YAML: cannot read '2024-13-45' as a date: month must be in 1..12",
        ),
        (
            "concurrency: " + "9" * 5000,
            "concurrency: invalid YAML: cannot read '"
            + "9" * 20
            + "..."
            + "9" * 10
            + "' as an integer: Exceeds the limit (4300 digits)",
        ),
    ],
)
def test_values_yaml_cannot_construct_are_findings(tmp_path: Path, line: str, message: str) -> None:
    base = MINIMAL if not line.startswith("concurrency") else MINIMAL
    path = write(tmp_path, base + line + "\n")
    row = len(base.splitlines()) + 1
    column = len(line.split(": ")[0]) + 3
    assert problems_of(path) == [f"{path}:{row}:{column}: {message}"]


def test_steps_with_wrong_entries_are_not_called_empty(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "steps: [null, 5, {}]\n")
    problems = problems_of(path)
    assert [p.split(": ", 2)[1] for p in problems] == ["steps[0]", "steps[1]", "steps[2]"]
    assert not any("must not be empty" in p for p in problems)
    assert "got nothing (null)" in problems[0] and "got the number 5" in problems[1]


def test_empty_steps_list_is_still_empty(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "steps: []\n")
    assert [p.split(": ", 1)[1] for p in problems_of(path)] == ["steps: must not be empty"]


def test_empty_name_with_wrong_steps_names_each_exact_problem(tmp_path: Path) -> None:
    text = MINIMAL.replace("name: web-back", 'name: ""').replace("{name: VR web}", '{name: ""}')
    problems = [p.split(": ", 1)[1] for p in problems_of(write(tmp_path, text + "steps: [null, 5, {}]\n"))]
    assert problems[0] == "name: must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, got ''"
    assert problems[1] == "protection_group.name: must not be empty"
    assert [p.split(":")[0] for p in problems[2:]] == ["steps[0]", "steps[1]", "steps[2]"]


def test_unprintable_keys_are_quoted_in_the_key_path(tmp_path: Path) -> None:
    # Found by the fuzzer: a control character in a key reached the terminal raw in the key path.
    [problem] = [p for p in problems_of(write(tmp_path, MINIMAL + '"\\x1bcpwn\\x07": 1\n')) if "unknown key" in p]
    assert problem.split(": ", 2)[1] == '["\\u001bcpwn\\u0007"]'
