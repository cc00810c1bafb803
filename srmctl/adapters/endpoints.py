"""Where each site's services are and how to log in to them: one value per site, built once at the edge.

The CLI builds :class:`Endpoints` from a runbook's ``sites:`` or from a lab's ``lab.yaml``; the engine, the
steps and the adapters only ever receive these values (see docs/architecture.md). Passwords are read from
their source (environment variable or file) when a connection needs them, never printed: ``repr`` shows
where a secret comes from, not its value.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from srmctl.adapters.tls import TlsPolicy
from srmctl.errors import LabError, SrmctlError, UsageError

Service = Literal["vcenter", "srm", "vr"]


@dataclass(frozen=True)
class Secret:
    """A password's source: an environment variable, a file, or a value already known.

    ``where`` names the setting in messages (e.g. ``sites.new-york.vcenter``). A runbook's password file
    must not be readable by group or others and holds the password on its first line (``private``); a
    lab's files are the lab's own and hold just the password.
    """

    where: str = "endpoint"
    env: str | None = None
    file: str | None = None
    value: str | None = field(default=None, repr=False)
    private: bool = True

    @classmethod
    def known(cls, value: str, where: str = "endpoint") -> Secret:
        return cls(where=where, value=value)

    @property
    def source(self) -> str:
        """Where the secret comes from, for messages (never the value)."""
        if self.env is not None:
            return f"environment variable {self.env}"
        if self.file is not None:
            return f"file {self.file}"
        return "given value" if self.value is not None else "none"

    def reveal(self) -> str:
        """The password; raises UsageError naming the setting when its source cannot be read."""
        if self.value is not None:
            return self.value
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise UsageError(f"{self.where}: environment variable {self.env} is not set")
            return value
        if self.file is not None:
            return self._read_file(Path(self.file))
        raise UsageError(f"{self.where}: no password source (set password_env or password_file)")

    def _read_file(self, path: Path) -> str:
        try:
            mode = path.stat().st_mode
            text = path.read_text()
        except OSError as error:
            raise UsageError(f"{self.where}.password_file: cannot read {path}: {error}") from error
        if not self.private:
            return text.strip()
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise UsageError(
                f"{self.where}.password_file: {path} is readable by group or others "
                f"(mode {stat.S_IMODE(mode):o}); chmod 600 it"
            )
        return text.splitlines()[0].strip() if text else ""


@dataclass(frozen=True)
class ServiceEndpoint:
    """One service (vCenter, SRM or VR) of one site: address, user, password source, TLS trust."""

    host: str
    user: str
    secret: Secret = field(default_factory=Secret)
    port: int = 443
    tls: TlsPolicy = field(default_factory=TlsPolicy)
    timeout: float = 60.0
    kind: str = "vCenter"  # for messages: "vCenter", "SRM", "VR"

    @property
    def label(self) -> str:
        return f"{self.kind} {self.host}:{self.port}"

    @property
    def password(self) -> str:
        return self.secret.reveal()


@dataclass(frozen=True)
class SiteEndpoints:
    """A site's vCenter, SRM and VR. SRM/VR are None where the site has none (a vCenter-only lab);
    ``no_dr`` then says why, for the error raised when a command needs them."""

    site: str
    vcenter: ServiceEndpoint
    srm: ServiceEndpoint | None = None
    vr: ServiceEndpoint | None = None
    no_dr: str = ""
    no_dr_error: type[SrmctlError] = LabError

    @property
    def has_dr(self) -> bool:
        return self.srm is not None and self.vr is not None

    def dr(self, service: Literal["srm", "vr"]) -> ServiceEndpoint:
        endpoint = self.srm if service == "srm" else self.vr
        if endpoint is None:
            raise self.no_dr_error(self.no_dr or f"site {self.site} has no {service.upper()} endpoint")
        return endpoint


@dataclass(frozen=True)
class EndpointOrigin:
    """How a command's endpoints were obtained: from the runbook's ``sites:`` or from a lab's folder. A run's
    journal records it, so ``srmctl resume`` builds the endpoints again the same way (never their secrets)."""

    kind: Literal["runbook", "lab"] = "runbook"
    folder: str | None = None  # the lab's folder, absolute

    def to_meta(self) -> dict[str, str | None]:
        return {"from": self.kind, "folder": self.folder}

    @classmethod
    def from_meta(cls, meta: Mapping[str, object]) -> EndpointOrigin:
        recorded = meta.get("endpoints")
        if isinstance(recorded, Mapping):
            folder = recorded.get("folder")
            return cls("lab", str(folder)) if recorded.get("from") == "lab" and folder else cls()
        older = meta.get("lab_dir")  # journals written before the origin was recorded as such
        return cls("lab", str(older)) if older else cls()


@dataclass(frozen=True)
class Endpoints:
    """Every site a command talks to, and how they were obtained."""

    sites: Mapping[str, SiteEndpoints]
    origin: EndpointOrigin = field(default_factory=EndpointOrigin)

    def site(self, name: str) -> SiteEndpoints:
        try:
            return self.sites[name]
        except KeyError:
            raise UsageError(f"no endpoints for site {name!r} (known: {', '.join(sorted(self.sites))})") from None

    def vcenters(self, names: tuple[str, ...] | None = None) -> dict[str, ServiceEndpoint]:
        return {name: self.site(name).vcenter for name in (names or tuple(self.sites))}

    @property
    def has_dr(self) -> bool:
        return all(s.has_dr for s in self.sites.values())

    def secrets(self) -> tuple[str, ...]:
        """Every password that can be read now, for the journal to redact (unreadable ones are skipped:
        nothing could have leaked them)."""
        found: list[str] = []
        for site in self.sites.values():
            for endpoint in (site.vcenter, site.srm, site.vr):
                if endpoint is None:
                    continue
                try:
                    found.append(endpoint.secret.reveal())
                except UsageError:
                    continue
        return tuple(dict.fromkeys(s for s in found if s))
