"""Plain-HTTP access to one site's SRM or VR server in srmsim, for tests of what each server answers."""

from __future__ import annotations

import ssl
import time
from typing import Any

import httpx
from srmsim_fixtures import PASSWORD

from srmctl.srmsim.launcher import SrmsimHandle

NY, NJ = "new-york", "new-jersey"
ROOTS = {"srm": "/api/rest/srm/v2", "vr": "/api/rest/vr/v2"}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PLANS, GROUPS, REPLICATIONS = "/recovery-management/plans", "/protection-management/groups", "/replications"


class Server:
    """One site's SRM or VR server, logged in there and to the paired site, spoken to over plain HTTP."""

    def __init__(self, sim: SrmsimHandle, site: str, api: str) -> None:
        endpoint, other = sim.sites[site], NJ if site == NY else NY
        self.http = httpx.Client(
            base_url=f"https://{endpoint.host}:{endpoint.port}{ROOTS[api]}",
            verify=ssl.create_default_context(cafile=endpoint.cert),
            timeout=10,
        )
        self.pid = sim.pairing(site, api)  # each server has its own pairing id
        login = self.http.post("/session", auth=(endpoint.user, PASSWORD))
        self.http.headers["x-dr-session"] = login.json()["session_id"]
        remote = self.http.post(f"/pairings/{self.pid}/remote-session", auth=(sim.sites[other].user, PASSWORD))
        assert remote.status_code == 204, remote.text
        pairing = self.http.get(f"/pairings/{self.pid}").json()
        self.guid = pairing["local_vrms" if api == "vr" else "local_srm_server"]["id"]

    def get(self, path: str) -> httpx.Response:
        return self.http.get(f"/pairings/{self.pid}{path}")

    def post(self, path: str, body: Any = None) -> httpx.Response:
        return self.http.post(f"/pairings/{self.pid}{path}", json=body)

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(f"/pairings/{self.pid}{path}")

    def listed(self, path: str) -> list[dict[str, Any]]:
        """Every page of a listing (following ``_meta.links.next``)."""
        items: list[dict[str, Any]] = []
        url: str | None = f"{self.http.base_url}/pairings/{self.pid}{path}".replace("//pairings", "/pairings")
        while url:
            answer = self.http.get(url)
            assert answer.status_code == 200, answer.text
            items += answer.json()["list"]
            url = answer.json()["_meta"]["links"].get("next", {}).get("href")
        return items

    def named(self, path: str, name: str) -> dict[str, Any]:
        return next(item for item in self.listed(path) if item["name"] == name)

    def finished(self, task: dict[str, Any]) -> dict[str, Any]:
        """The task once ended; a plan run's prompts are dismissed as they come."""
        deadline = time.monotonic() + 30
        plan = task.get("entity") if str(task.get("entity", "")).startswith("DrRecoveryRecoveryPlan:") else None
        while task["status"] in ("QUEUED", "RUNNING"):
            assert time.monotonic() < deadline, task
            time.sleep(0.02)
            if plan:
                prompts = f"{PLANS}/{plan}/recovery-steps/user-prompts"
                for prompt in self.get(prompts).json().get("list", []):
                    self.post(f"{prompts}/{prompt['id']}/actions/dismiss-prompt")
            task = self.http.get(f"/tasks/{task['id']}").json()
        return task


def is_response_error(response: httpx.Response) -> bool:
    return set(response.json()) == {"error_code", "message", "op_id"}
