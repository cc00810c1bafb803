"""Request bodies of the VR calls srmsim serves beyond :mod:`srmctl.srmsim.bodies` (kept under its size): the
same strict, closed models of the VR spec's schemas."""

from __future__ import annotations

from typing import Literal

from srmctl.srmsim.bodies import Body


class DatastoreBrowserRequestBody(Body):
    query_type: Literal["VM_DISK", "FLOPPY_IMAGE", "ISO_IMAGE", "VM_CONFIG_FILES", "ALL_FILES", "FOLDERS"] | None = None
    browse_path: str | None = None
    sub_folders: bool | None = None
