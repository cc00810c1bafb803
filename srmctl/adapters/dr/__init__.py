"""SRM REST v2 and vSphere Replication REST v2 clients (the only network I/O to SRM/VR appliances)."""

from srmctl.adapters.dr.client import Credentials, DrApiError, DrClient, TaskTimeout, pick_one
from srmctl.adapters.dr.srm import SrmClient
from srmctl.adapters.dr.tasks import Pace
from srmctl.adapters.dr.vr import VrClient

__all__ = ["Credentials", "DrApiError", "DrClient", "Pace", "SrmClient", "TaskTimeout", "VrClient", "pick_one"]
