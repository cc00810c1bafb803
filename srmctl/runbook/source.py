"""YAML parsing that remembers where every key and value came from.

PyYAML's constructors throw positions away and silently let a later duplicate key win. We compose the node
graph with the safe loader and build the plain data ourselves, recording the 1-based line:col of every key and
value by key path, so that every later finding (a pydantic error, a cross-check) can point into the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from srmctl.runbook.problems import Anchor, Loc, Mark, Problem

MERGE_TAG = "tag:yaml.org,2002:merge"
#: Ceiling on nodes built, so that alias expansion ("billion laughs") cannot exhaust memory.
MAX_NODES = 100_000


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


def parse(text: str) -> Document:
    """Parse one YAML document; raise :class:`YamlRejected` when there is no usable data."""
    tabs = _tab_indentation(text)
    if tabs:
        raise YamlRejected(tabs)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlRejected([Problem((), "runbook is empty", mark=Mark(1, 1))])
        builder = _Builder(loader)
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as error:
        raise YamlRejected([_syntax_problem(error)]) from None
    finally:
        loader.dispose()
    return Document(data, builder.keys, builder.values, builder.texts, builder.problems)


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
