"""Keeps srmsim's name lookups in a vCenter apart from its VM creations there.

Why: in vcsim (govmomi v0.56.0, ``simulator/folder.go``), CreateVM_Task and RegisterVM_Task put the new VM
into its folder's ``childEntity`` before its configuration (and so its name) is applied, and
``SearchIndex.FindChild`` walks that list through ``Registry.FindByName``, which panics on an entity without a
name ("object VirtualMachine:vm-N does not have a Name"). The panic is caught by Go's HTTP server, but the
object lock FindChild held is never released: every later call that needs it waits forever, and the lab
hangs (seen at 1,000 VMs, when srmsim creates placeholders from several threads and checks names between
them). A real vCenter names a VM atomically with its creation, so the gate costs srmsim nothing it should
model: lookups wait for creations in flight, creations wait for lookups in flight, and either kind still
runs side by side with its own kind. A waiting lookup holds back new creations, so lookups are not starved.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class NameGate:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._creating = 0
        self._finding = 0
        self._finders_waiting = 0

    @contextmanager
    def creating(self) -> Iterator[None]:
        """Around a call that adds a VM to a folder (CreateVM_Task, RegisterVM_Task, until their task ends)."""
        with self._changed:
            self._changed.wait_for(lambda: not self._finding and not self._finders_waiting)
            self._creating += 1
        try:
            yield
        finally:
            with self._changed:
                self._creating -= 1
                self._changed.notify_all()

    @contextmanager
    def finding(self) -> Iterator[None]:
        """Around a call that looks a child up by name (SearchIndex.FindChild)."""
        with self._changed:
            self._finders_waiting += 1
            self._changed.wait_for(lambda: not self._creating)
            self._finders_waiting -= 1
            self._finding += 1
        try:
            yield
        finally:
            with self._changed:
                self._finding -= 1
                self._changed.notify_all()
