"""YAML parsing that remembers where every key and value came from.

PyYAML's constructors throw positions away and silently let a later duplicate key win. We compose the node
graph with the safe loader and build the plain data ourselves, recording the 1-based line:col of every key and
value by key path, so that every later finding (a pydantic error, a cross-check) can point into the file.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from srmctl.errors import RunbookInvalid
from srmctl.runbook.problems import Anchor, Loc, Mark, Problem

MERGE_TAG = "tag:yaml.org,2002:merge"
#: Ceiling on nodes built, so that alias expansion ("billion laughs") cannot exhaust memory.
MAX_NODES = 100_000
#: Largest input file read (runbooks, topologies, snapshots are a few KiB): a bigger one, /dev/zero or a pipe
#: is refused before it is read, so a wrong path cannot exhaust memory or time.
MAX_BYTES = 1024 * 1024
#: Deepest nesting of collections accepted. PyYAML composes recursively, so a few hundred ``[`` would end in
#: a RecursionError; real files nest fewer than ten levels.
MAX_DEPTH = 64


class YamlRejected(Exception):
    """The text cannot be turned into data at all; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass
class Document:
    """Plain data (dicts, lists, scalars) plus the position of every key and value in the file."""

    data: Any
    keys: dict[Loc, Mark] = field(default_factory=dict)
    values: dict[Loc, Mark] = field(default_factory=dict)
    # Scalars as written, e.g. "0042", which YAML read as the number 34.
    texts: dict[Loc, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)  # non-fatal: duplicate keys, bad tags

    def locate(self, loc: Loc, anchor: Anchor) -> Mark:
        """Where to point for a finding at ``loc``: the nearest position the file has for it."""
        if anchor == "key" and loc in self.keys:
            return self.keys[loc]
        if anchor == "parent":
            loc = loc[:-1]
        while loc not in self.values and loc:
            loc = loc[:-1]
        return self.values.get(loc, Mark(1, 1))


def mark_of(node: Node | yaml.Mark) -> Mark:
    start = node.start_mark if isinstance(node, Node) else node
    return Mark(start.line + 1, start.column + 1)


def read_text(path: str, what: str = "runbook") -> str:
    """The text of the file at ``path`` (UTF-8, an optional BOM), at most :data:`MAX_BYTES`; raises
    :class:`YamlRejected` for a file that cannot be read, is not a regular file, is too large or is not text."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the open
    except OSError as error:
        _refuse(f"cannot read {what}: {error.strerror or error}")
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            _refuse(f"cannot read {what}: {os.strerror(errno.EISDIR)}")
        if not stat.S_ISREG(info.st_mode):
            _refuse(f"cannot read {what}: not a regular file")
        if info.st_size > MAX_BYTES:
            _refuse(f"{what} is larger than {MAX_BYTES // 1024} KiB: not read")
        chunks: list[bytes] = []
        while sum(map(len, chunks)) <= MAX_BYTES and (chunk := os.read(fd, MAX_BYTES + 1)):
            chunks.append(chunk)
        raw = b"".join(chunks)
        if len(raw) > MAX_BYTES:  # it grew since fstat
            _refuse(f"{what} is larger than {MAX_BYTES // 1024} KiB: not read")
    finally:
        os.close(fd)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        mark = Mark(before.count(b"\n") + 1, error.start - (before.rfind(b"\n") + 1) + 1)
        raise YamlRejected([Problem((), "not UTF-8 text", mark=mark)]) from None


def _refuse(message: str) -> NoReturn:
    raise YamlRejected([Problem((), message, mark=Mark(1, 1))])


def load_file(path: str, what: str = "runbook") -> Document:
    """:func:`read_text` then :func:`parse`: the one safe way srmctl reads a YAML input file."""
    return parse(read_text(path, what), what)


def parse(text: str, what: str = "runbook") -> Document:
    """Parse one YAML document; raise :class:`YamlRejected` when there is no usable data."""
    tabs = _tab_indentation(text)
    if tabs:
        raise YamlRejected(tabs)
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as error:  # a control character; raised before any parsing
        raise YamlRejected([_reader_problem(text, error)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlRejected([Problem((), f"{what} is empty", mark=Mark(1, 1))])
        builder = _Builder(loader)
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as error:
        raise YamlRejected([_syntax_problem(error)]) from None
    except RecursionError:  # only when the caller's own stack is already deep: the depth limit comes first
        raise YamlRejected([Problem((), f"nested too deeply (limit {MAX_DEPTH} levels)", mark=Mark(1, 1))]) from None
    finally:
        loader.dispose()
    return Document(data, builder.keys, builder.values, builder.texts, builder.problems)


class _Loader(yaml.SafeLoader):
    """The safe loader with a nesting limit enforced while composing, before the recursion can run away."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self._depth >= MAX_DEPTH:
            message = f"nested more than {MAX_DEPTH} levels deep"
            raise YamlRejected([Problem((), message, mark=mark_of(self.peek_event().start_mark))])
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _reader_problem(text: str, error: yaml.reader.ReaderError) -> Problem:
    before = text[: error.position]
    mark = Mark(before.count("\n") + 1, error.position - (before.rfind("\n") + 1) + 1)
    code = error.character if isinstance(error.character, int) else ord(error.character)
    return Problem((), f"character U+{code:04X} is not allowed in YAML text", mark=mark)


def _tab_indentation(text: str) -> list[Problem]:
    # PyYAML's own message for this ("found character '\t' that cannot start any token") does not say what
    # to do, and some tab placements are accepted with a surprising structure; refuse them all up front.
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            where = Mark(number, indent.index("\t") + 1)
            problems.append(Problem((), "tab in indentation: indent YAML with spaces", mark=where))
    return problems


def _syntax_problem(error: yaml.MarkedYAMLError) -> Problem:
    where = error.problem_mark or error.context_mark
    if error.context == "expected a single document in the stream":
        message = "a runbook is a single YAML document, but a second one starts here"
    else:
        message = f"invalid YAML: {error.problem or error.context}"
        if error.problem and error.context:
            message += f" ({error.context})"
    return Problem((), message, mark=mark_of(where) if where else Mark(1, 1))


_KINDS = {"int": "an integer", "float": "a number", "timestamp": "a date", "bool": "true or false"}


class _Builder:
    """Builds plain data from a node graph, recording positions by key path."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.keys: dict[Loc, Mark] = {}
        self.values: dict[Loc, Mark] = {}
        self.texts: dict[Loc, str] = {}
        self.problems: list[Problem] = []
        self._open: set[int] = set()  # collections being built, to catch recursive aliases
        self._count = 0

    def build(self, node: Node, loc: Loc) -> Any:
        self._count += 1
        if self._count > MAX_NODES:
            message = f"document too large (over {MAX_NODES} values after aliases)"
            raise YamlRejected([Problem(loc, message, mark=mark_of(node))])
        if isinstance(node, ScalarNode):
            value = self._scalar(node, loc)
        elif id(node) in self._open:
            self.problems.append(Problem(loc, "recursive alias", mark=mark_of(node)))
            value = None
        else:
            self._open.add(id(node))
            value = self._mapping(node, loc) if isinstance(node, MappingNode) else self._sequence(node, loc)
            self._open.discard(id(node))
        # Recorded after the children: a merged mapping is built at the same key path and must not win.
        self.values[loc] = mark_of(node)
        return value

    def _scalar(self, node: ScalarNode, loc: Loc) -> Any:
        self.texts[loc] = node.value
        try:
            return self.loader.construct_object(node)
        except yaml.MarkedYAMLError as error:  # e.g. an unknown or unsafe tag
            self.problems.append(Problem(loc, f"invalid YAML: {error.problem}", mark=mark_of(node)))
        except (ValueError, OverflowError) as error:  # 2024-13-45 as a date, an integer of 5000 digits
            kind = _KINDS.get(node.tag.rsplit(":", 1)[-1], "value")
            shown = node.value if len(node.value) <= 40 else f"{node.value[:20]}...{node.value[-10:]}"
            reason = str(error).split(";")[0].split(" for integer string conversion")[0]
            message = f"invalid YAML: cannot read {shown!r} as {kind}: {reason}"
            self.problems.append(Problem(loc, message, mark=mark_of(node)))
        return None

    def _sequence(self, node: Node, loc: Loc) -> list[Any]:
        return [self.build(item, (*loc, index)) for index, item in enumerate(node.value)]

    def _mapping(self, node: MappingNode, loc: Loc) -> dict[str, Any]:
        result: dict[str, Any] = {}
        explicit: dict[str, Mark] = {}
        pairs = [(k, v) for k, v in node.value if k.tag != MERGE_TAG]
        for merge in (v for k, v in node.value if k.tag == MERGE_TAG):
            result.update(self._merged(merge, loc))
        for key_node, value_node in pairs:
            if not isinstance(key_node, ScalarNode):
                self.problems.append(Problem(loc, "keys must be plain strings", mark=mark_of(key_node)))
                continue
            # Keys are taken as written: "on:" or "1:" stay the strings "on" and "1" rather than YAML 1.1's
            # True and 1, which no runbook key means.
            key, where = key_node.value, mark_of(key_node)
            child = (*loc, key)
            if key in explicit:
                first = explicit[key]
                message = f"duplicate key {key!r} (first at line {first.line}:{first.column})"
                self.problems.append(Problem(child, message, mark=where))
            explicit[key] = self.keys[child] = where
            result[key] = self.build(value_node, child)
        return result

    def _merged(self, merge: Node, loc: Loc) -> dict[str, Any]:
        """The mappings of a ``<<:`` key; explicit keys of the mapping override them, as in YAML 1.1."""
        sources = merge.value if isinstance(merge, SequenceNode) else [merge]
        merged: dict[str, Any] = {}
        for source in reversed(sources):  # the first mapping listed wins
            if not isinstance(source, MappingNode):
                self.problems.append(Problem(loc, "'<<' merges only mappings", mark=mark_of(source)))
                continue
            merged.update(self.build(source, loc))
        return merged


# --- findings as text ------------------------------------------------------------------------------------


def position(doc: Document, problem: Problem) -> tuple[int, int]:
    mark = problem.mark or doc.locate(problem.loc, problem.anchor)
    return mark.line, mark.column


def format_problem(shown: str, doc: Document, problem: Problem, prefix: str = "") -> str:
    """``path:LINE:COL: key.path: message``, with ``path`` exactly as the user gave it."""
    line, column = position(doc, problem)
    return f"{shown}:{line}:{column}: {problem.keypath}: {prefix}{problem.message}"


def reject(shown: str, doc: Document, problems: Sequence[Problem]) -> NoReturn:
    """Raise :class:`RunbookInvalid` with every finding, in file order as editors list them."""
    ordered = sorted(problems, key=lambda p: position(doc, p))
    raise RunbookInvalid([format_problem(shown, doc, p) for p in ordered])


def model_problems(errors: Sequence[Any]) -> list[Problem]:
    """pydantic's ``ValidationError.errors()`` as findings with pydantic's own messages (the runbook loader
    words them better, knowing its schema; other files get these)."""
    found = []
    for error in errors:
        loc = tuple(error["loc"])
        kind = error["type"]
        anchor: Anchor = "parent" if kind == "missing" else "key" if kind == "extra_forbidden" else "value"
        message = str(error.get("ctx", {}).get("error", error["msg"])) if kind == "value_error" else error["msg"]
        found.append(Problem(loc, message, anchor))
    return found
