"""Per-call latency on the lab: the median (and minimum) of 20 simple calls on one keep-alive connection, to each
SRM and VR server (``GET /pairings``, ``GET /info``) and to each vCenter (``CurrentTime``, a SOAP round trip);
an unknown path shows what srmsim's HTTP stack costs without any handler. issue 18: a simple call must take
about the time of its work (at most 5 ms), not a 40 ms Nagle/delayed-ACK floor.

    python bench/call_latency.py [--repeat 20] [--results]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx

from srmctl.adapters.vcenter.connection import connect
from srmctl.lab import lab
from srmctl.labkit.topology import load_topology

HERE = Path(__file__).resolve().parent


def timed(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), min(samples)


def measure(repeat: int) -> list[tuple[str, float, float]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        config = lab.up(Path(tmp) / "lab", load_topology(), scenario="planned-migration")
        try:
            site = config.sites[config.protected_site]
            for api, path in (("srm", "/pairings"), ("vr", "/info"), ("srm", "/no-such-path")):
                endpoint = site.srm if api == "srm" else site.vr
                assert endpoint is not None
                password = Path(endpoint.password_file).read_text().strip()
                root = f"https://{endpoint.host}:{endpoint.port}/api/rest/{api}/v2"
                with httpx.Client(base_url=root, verify=False, timeout=10) as client:  # noqa: S501 - the lab's cert
                    token = client.post("/session", auth=(endpoint.user, password)).json()["session_id"]
                    client.headers["x-dr-session"] = token
                    client.get(path)  # the connection is open before timing
                    rows.append((f"{api.upper()} GET {path}", *timed(lambda p=path, c=client: c.get(p), repeat)))
            session = connect(config.vcenter_endpoint(config.protected_site))
            try:
                instance = session.service_instance
                instance.CurrentTime()
                rows.append(("vCenter SOAP CurrentTime", *timed(instance.CurrentTime, repeat)))
            finally:
                session.close()
        finally:
            lab.down(Path(tmp) / "lab")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--results", action="store_true", help="append the table to bench/RESULTS.md")
    args = parser.parse_args()
    lines = ["| call | median (ms) | min (ms) |", "|---|---|---|"]
    lines += [f"| {name} | {median:.2f} | {low:.2f} |" for name, median, low in measure(args.repeat)]
    table = "\n".join(lines)
    print(table)
    if args.results:
        with (HERE / "RESULTS.md").open("a") as out:
            out.write(f"\n## Per-call latency on the lab (`bench/call_latency.py`), {date.today()}\n\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
