"""Fuzzing the input loaders (issue #13): runbook, lab topology, plan-metadata snapshot and run journal.

Random text, random bytes, structured YAML (deep nesting, huge numbers and durations, wrong types, unicode)
and mutations of valid files. A loader either returns a value or raises :class:`RunbookInvalid` (exit code 3)
whose every finding reads ``path:LINE:COL: ...``; nothing else may escape. The journal reader never raises.
A few cases go through ``srmctl validate`` (also ``-o json``). Examples per test are set below; the total
is in :data:`EXAMPLES` (1,630 examples, about 15 s).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srmctl.cli.main import cli
from srmctl.engine.journal import EVENTS, read_events
from srmctl.errors import ExitCode, RunbookInvalid
from srmctl.labkit.topology import load_topology
from srmctl.metadata.snapshot import read_snapshot
from srmctl.runbook import load_runbook
from srmctl.runbook.source import MAX_DEPTH

HERE = Path(__file__).parent
RUNBOOK = yaml.safe_load((HERE / "good" / "full.yaml").read_text())
TOPOLOGY = yaml.safe_load(resources.files("srmctl.labkit").joinpath("default-topology.yaml").read_text())
SNAPSHOT = {
    "format": "srmctl/plan-metadata/v1",
    "taken_at": "2024-06-11T10:15:00Z",
    "source": {"site": "new-york", "srm": "srm-ny.lab"},
    "plan": {"name": "Mail", "protected_site": "new-york", "recovery_site": "new-jersey"},
    "vms": {
        "mail01": {
            "priority": "P1",
            "shutdown": {"timeout": "300s"},
            "ip": [
                {
                    "nic": 0,
                    "recovery": {
                        "ipv4": {"address": "10.0.0.1", "mask": "255.255.255.0", "gateway": "10.0.0.254"},
                        "dns": {"servers": ["10.0.0.2"]},
                    },
                }
            ],
        }
    },
}
LOADERS: dict[str, Callable[[Path], Any]] = {
    "runbook": load_runbook,
    "topology": load_topology,
    "snapshot": read_snapshot,
}
FINDING = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<col>\d+): \S.*", re.S)

# Examples per test, reported in the closing note.
EXAMPLES = {
    "text": 300,
    "bytes": 150,
    "structured": 300,
    "mutated": 400,
    "deep": 40,
    "huge": 100,
    "journal": 300,
    "cli": 40,
}


def fuzz(kind: str) -> settings:
    return settings(
        max_examples=EXAMPLES[kind],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- strategies ---------------------------------------------------------------------------------------------

unicode_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
durations = st.builds(lambda n, u: f"{n}{u}", st.integers(0, 10**30), st.sampled_from("dhms"))
huge_numbers = st.one_of(
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just("9" * 5000),
    st.just(10**4000),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    huge_numbers,
    unicode_text,
    durations,
    st.sampled_from(
        [
            "on",
            "off",
            "yes",
            "2024-13-45",
            "0042",
            "1.10",
            "~",
            "",
            "15m",
            "P1",
            "999.1.1.1",
            "fd00::1",
            "255.255.255.0",
            "!!binary x",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(
                unicode_text,
                st.sampled_from(["name", "vms", "sites", "steps", "rpo", "timeout", "ip", "<<", "password"]),
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=30,
)


def dumped(data: Any) -> str:
    try:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, ValueError, OverflowError):
        return repr(data)  # not YAML at all: also a fine input


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """``base`` with a few subtrees replaced by junk, or removed."""
    data = json.loads(json.dumps(base, default=str))
    for _ in range(draw(st.integers(1, 3))):
        node, path = data, []
        while isinstance(node, (dict, list)) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
            path.append((node, key))
            node = node[key]
        if not path:
            continue
        parent, key = path[-1]
        if draw(st.integers(0, 4)) == 0 and isinstance(parent, dict):
            del parent[key]
        else:
            parent[key] = draw(values)
    return data


@st.composite
def deep_documents(draw: st.DrawFn) -> str:
    depth = draw(st.integers(MAX_DEPTH + 1, 600))
    kind = draw(st.sampled_from(["flow-list", "flow-map", "block-list", "block-map", "mixed"]))
    if kind == "flow-list":
        return "[" * depth + "]" * depth
    if kind == "flow-map":
        return "{a: " * depth + "1" + "}" * depth
    if kind == "block-list":
        return "".join("  " * i + "-\n" for i in range(depth)) + "  " * depth + "x\n"
    if kind == "block-map":
        return "".join("  " * i + "k:\n" for i in range(depth)) + "  " * depth + "x\n"
    return "name: " + "[{a: " * (depth // 2) + "1" + "}]" * (depth // 2)


# --- the property ------------------------------------------------------------------------------------------


def assert_only_documented_outcome(loader: str, content: str | bytes) -> None:
    """Load ``content`` as a file with ``loader``: a value, or RunbookInvalid with located findings."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"{loader}.yaml"
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        try:
            LOADERS[loader](path)
        except RunbookInvalid as error:
            assert error.exit_code == ExitCode.RUNBOOK_INVALID
            assert error.problems
            for problem in error.problems:
                match = FINDING.match(problem)
                assert match and match["path"] == str(path), problem
                assert int(match["line"]) >= 1 and int(match["col"]) >= 1


loaders = st.sampled_from(sorted(LOADERS))


@fuzz("text")
@given(loaders, st.text(max_size=400))
def test_random_text(loader: str, text: str) -> None:
    assert_only_documented_outcome(loader, text.encode("utf-8", "surrogatepass"))


@fuzz("bytes")
@given(loaders, st.binary(max_size=600))
def test_random_bytes(loader: str, data: bytes) -> None:
    assert_only_documented_outcome(loader, data)


@fuzz("structured")
@given(loaders, values)
def test_structured_yaml(loader: str, data: Any) -> None:
    assert_only_documented_outcome(loader, dumped(data))


@fuzz("mutated")
@given(st.data())
def test_mutated_valid_files(data: st.DataObject) -> None:
    loader = data.draw(loaders)
    base = {"runbook": RUNBOOK, "topology": TOPOLOGY, "snapshot": SNAPSHOT}[loader]
    assert_only_documented_outcome(loader, dumped(data.draw(mutated(base))))


@fuzz("deep")
@given(loaders, deep_documents())
def test_deep_nesting_hits_the_limit(loader: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "deep.yaml"
        path.write_text(text)
        try:
            LOADERS[loader](path)
        except RunbookInvalid as error:
            assert any("nested more than 64 levels deep" in p for p in error.problems), error.problems
        else:
            raise AssertionError("a document nested past the limit was accepted")


@fuzz("huge")
@given(st.data())
def test_huge_durations_and_numbers_in_valid_files(data: st.DataObject) -> None:
    loader = data.draw(loaders)
    value = data.draw(st.one_of(durations, huge_numbers))
    base = json.loads(json.dumps({"runbook": RUNBOOK, "topology": TOPOLOGY, "snapshot": SNAPSHOT}[loader]))
    if loader == "runbook":
        base["replication"]["rpo"] = value
        base["snapshot"] = {"max_age": value}
    elif loader == "snapshot":
        base["vms"]["mail01"]["shutdown"]["timeout"] = value
    else:
        base["vms"][0]["disks"] = [{"size": value}]
    assert_only_documented_outcome(loader, dumped(base))


@fuzz("journal")
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=80),
            st.text(max_size=80).map(lambda t: t.encode("utf-8", "replace")),
            st.builds(
                lambda v: json.dumps(v).encode(),
                st.recursive(
                    st.none() | st.integers() | st.text(max_size=10),
                    lambda i: st.lists(i, max_size=3) | st.dictionaries(st.text(max_size=5), i, max_size=3),
                    max_leaves=10,
                ),
            ),
        ),
        max_size=8,
    )
)
def test_journal_reader_never_raises(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / EVENTS).write_bytes(b"\n".join(lines))
        events = read_events(Path(directory))
        assert all(isinstance(e, dict) for e in events)


@fuzz("cli")
@given(
    st.one_of(deep_documents(), st.binary(max_size=200), values.map(dumped), mutated(RUNBOOK).map(dumped)),
    st.booleans(),
)
def test_validate_command_exits_0_or_3_without_a_traceback(content: str | bytes, as_json: bool) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "rb.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
        result = CliRunner().invoke(cli, ["validate", str(path), *(["-o", "json"] if as_json else [])])
    assert result.exit_code in (ExitCode.OK, ExitCode.RUNBOOK_INVALID), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    if as_json:
        doc = json.loads(result.stdout)
        assert doc["ok"] is (result.exit_code == 0)
        if not doc["ok"]:
            assert doc["error"]["code"] == "runbook_invalid" and doc["error"]["exit_code"] == 3
