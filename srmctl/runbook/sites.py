"""The models of one site in a runbook: its vCenter, SRM and vSphere Replication endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from srmctl.runbook.values import ENV_NAME_PATTERN, FilePath, Model, NonEmpty, Thumbprint, resolve_relative

# --- sites -------------------------------------------------------------------------------------------------


class Endpoint(Model):
    """Connection settings of one appliance. TLS is verified by default."""

    host: NonEmpty = Field(description="Host name or IP address (no scheme, no path).")
    port: int = Field(default=443, ge=1, le=65535, description="HTTPS port.")
    user: NonEmpty | None = Field(default=None, description="User name, e.g. administrator@vsphere.local.")
    password_env: str | None = Field(
        default=None,
        pattern=ENV_NAME_PATTERN,
        description="Name of the environment variable holding the password.",
    )
    password_file: FilePath | None = Field(
        default=None,
        description="File holding the password (first line). Must not be readable by group or others. "
        "Relative to the runbook's directory.",
    )
    thumbprint: Thumbprint | None = Field(
        default=None, description="Pin the server certificate: 'sha256:' + 64 hex digits (colons allowed)."
    )
    ca_file: FilePath | None = Field(
        default=None,
        description="PEM bundle of CAs to trust instead of the system store. Relative to the runbook.",
    )
    insecure: bool = Field(default=False, description="Skip TLS verification entirely (lab use only; warns).")

    @field_validator("host")
    @classmethod
    def _plain_host(cls, value: str) -> str:
        if "://" in value or "/" in value:
            raise ValueError("must be a host name or address, not a URL (use 'port' for the port)")
        return value

    @field_validator("password_file", "ca_file")
    @classmethod
    def _relative_to_runbook(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else resolve_relative(value, info)

    @model_validator(mode="after")
    def _consistent(self) -> Endpoint:
        if self.password_env is not None and self.password_file is not None:
            raise ValueError("set only one of password_env and password_file")
        if self.insecure and self.thumbprint is not None:
            raise ValueError("insecure: true disables the check that thumbprint pins; remove one of them")
        return self

    @property
    def has_password_source(self) -> bool:
        return self.password_env is not None or self.password_file is not None


class VCenterEndpoint(Endpoint):
    """The site's vCenter. Its credentials are also the default for SRM and VR (one SSO domain)."""

    user: NonEmpty = Field(description="User name, e.g. administrator@vsphere.local.")


class Site(Model):
    """One site: a vCenter, an SRM server and a vSphere Replication management server."""

    vcenter: VCenterEndpoint = Field(description="The site's vCenter Server.")
    srm: Endpoint = Field(description="The site's SRM server. Credentials default to the vCenter's.")
    vr: Endpoint = Field(description="The site's vSphere Replication server. Credentials default to the vCenter's.")

    def credentials(self, service: Literal["vcenter", "srm", "vr"]) -> Endpoint:
        """The endpoint of ``service`` with the vCenter's user and password source filled in when it names
        none of its own (SRM and VR normally share vCenter's SSO domain)."""
        endpoint: Endpoint = getattr(self, service)
        if endpoint.user is not None or endpoint.has_password_source:
            return endpoint
        vc = self.vcenter
        return endpoint.model_copy(
            update={"user": vc.user, "password_env": vc.password_env, "password_file": vc.password_file}
        )
