"""The list parameters both specs give every list operation: ``filter_property`` with ``filter``, and
``sort_by`` with ``order_by`` (issue #21, point 7).

Spec text: filter_property "The name of the field by which to filter the result data. Must be used in
combination with filter parameter. Supports for nested fields"; filter "The filter value by which to filter the
result data. Must be used in combination with filter_prop parameter. Supports for nested fields" (several
values: any of them); sort_by "If order_by is not specified, ascending is used as default"; order_by "Must be
used in combination with sort_by. Supported values: asc, ascending, desc, descending". A nested field is named
with dots (``status.status``). Values compare exactly, case included: the specs promise no other matching, so
srmsim does not match more than that. One parameter without its partner, or an order the spec does not list,
is a 400, never ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from srmctl.srmsim.model import SimError

ORDERS = {"asc": False, "ascending": False, "desc": True, "descending": True}
_MISSING = object()


def field(item: Any, path: str) -> Any:
    """The value at a dotted path of a rendered item, or a marker when it has none."""
    value = item
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _text(value: Any) -> str | None:
    if value is _MISSING or value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def apply(query: Mapping[str, list[str]], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` filtered and sorted as the query asks."""
    prop = _first(query, "filter_property")
    wanted = query.get("filter") or []
    if bool(prop) != bool(wanted):
        raise SimError(400, "INVALID_PARAMETER", "filter_property and filter must be used together")
    if prop:
        items = [i for i in items if _text(field(i, prop)) in wanted]
    sort_by, order = _first(query, "sort_by"), _first(query, "order_by")
    if order is not None and (not sort_by or order not in ORDERS):
        raise SimError(
            400, "INVALID_PARAMETER", "order_by: one of asc, ascending, desc, descending, together with sort_by"
        )
    if sort_by:
        present = [i for i in items if _text(field(i, sort_by)) is not None]
        absent = [i for i in items if _text(field(i, sort_by)) is None]
        present.sort(key=lambda i: _key(field(i, sort_by)), reverse=ORDERS.get(order or "asc", False))
        items = present + absent
    return items


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name) or []
    return values[0] if values else None


def _key(value: Any) -> tuple[int, Any]:
    """Numbers by value, everything else by its text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, _text(value))
