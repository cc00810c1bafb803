"""Ids inside a request body that name nothing: 400 with the specs' error body, never 404.

The SRM and VR specs give 404 to a path whose resource does not exist ("Not found - the server cannot find the
requested resource", on operations with path parameters); an unknown VM, group, datastore or network named in
the body of a request to a path that exists is "invalid request body content", the specs' 400, answered with
``ResponseError`` (issue #21, point 7). Handlers resolve their path parameters first (a bad URL stays 404), then
run what reads the body inside :func:`in_body`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from srmctl.srmsim.model import SimError


@contextmanager
def in_body(where: str = "request body") -> Iterator[None]:
    try:
        yield
    except SimError as error:
        if error.status != 404:
            raise
        raise SimError(400, "INVALID_REFERENCE", f"{where}: {error.message}") from error
