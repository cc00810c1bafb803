"""TLS trust shared by every adapter (vCenter, SRM, VR): verified by default, CA file, or a sha256 pin.

pyvmomi silently disables verification for 127.0.0.1/localhost and only checks a pin after ordinary
verification has failed, so srmctl checks pins itself, before any credentials are sent.
"""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
from dataclasses import dataclass, field

from srmctl.errors import ConnectionFailed, ThumbprintMismatch, UsageError

_PIN = re.compile(r"^(?:sha256:)?([0-9a-fA-F:]{64,95})$")


def normalize_thumbprint(value: str) -> str:
    """Return ``sha256:<64 lowercase hex>`` for a pin written with or without prefix or colons."""
    match = _PIN.match(value.strip())
    digits = match.group(1).replace(":", "").lower() if match else ""
    if len(digits) != 64:
        raise UsageError(f"thumbprint {value!r} is not a sha256 thumbprint (sha256:<64 hex digits>)")
    return f"sha256:{digits}"


def fetch_thumbprint(host: str, port: int, timeout: float = 10.0) -> str:
    """The sha256 thumbprint of the certificate the server presents (no trust decision made here)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except OSError as error:
        raise ConnectionFailed(f"{host}:{port}: cannot connect: {error}") from error
    if not der:
        raise ConnectionFailed(f"{host}:{port}: server presented no certificate")
    return "sha256:" + hashlib.sha256(der).hexdigest()


@dataclass(frozen=True)
class TlsPolicy:
    """How to trust an endpoint. Exactly one of the three modes applies, in this order:
    a thumbprint pin, ``insecure``, or CA verification (system store or ``ca_file``)."""

    thumbprint: str | None = None
    ca_file: str | None = None
    insecure: bool = False
    #: Where these settings come from, for messages: the runbook key of the service (``sites.new-york.srm``).
    where: str = field(default="", compare=False)

    def key(self, name: str) -> str:
        """The runbook key an operator sets to change ``name`` (``sites.new-york.srm.insecure``): there are no
        TLS command-line flags, trust is configured per service in the runbook."""
        return f"{self.where}.{name}" if self.where else name

    def insecure_warning(self, endpoint: str) -> str:
        return f"{endpoint}: TLS verification disabled ({self.key('insecure')}: true); use it in labs only"

    def untrusted_hint(self) -> str:
        """What to set when the certificate is not trusted."""
        return (
            f"pin it with {self.key('thumbprint')}, trust its CA with {self.key('ca_file')}, or (labs only) "
            f"set {self.key('insecure')}: true"
        )

    def context(self, host: str, port: int) -> ssl.SSLContext:
        """Check the pin (if any) and return the SSL context to connect with."""
        if self.thumbprint:
            expected = normalize_thumbprint(self.thumbprint)
            actual = fetch_thumbprint(host, port)
            if actual != expected:
                raise ThumbprintMismatch(f"{host}:{port}", expected, actual)
            # The pin is the trust anchor: the exact certificate was just checked, so chain and name
            # checks (which a self-signed appliance certificate would fail) are not needed.
            return _unverified()
        if self.insecure:
            return _unverified()
        context = ssl.create_default_context(cafile=self.ca_file)
        return context


def _unverified() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
