from __future__ import annotations

import socket
import time
from dataclasses import replace

import pytest
from pyVmomi import vim

from srmctl.adapters.endpoints import Secret
from srmctl.adapters.tls import TlsPolicy, fetch_thumbprint, normalize_thumbprint
from srmctl.adapters.vcenter.connection import connect
from srmctl.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    ExitCode,
    ThumbprintMismatch,
    TlsVerificationFailed,
    UsageError,
)
from srmctl.lab.config import LabConfig


def test_pinned_thumbprint_connects_and_sites_have_distinct_identities(shared_lab: LabConfig) -> None:
    ny, nj = (connect(shared_lab.vcenter_endpoint(s)) for s in ("new-york", "new-jersey"))
    try:
        assert ny.content.about.apiType == "VirtualCenter"
        assert ny.instance_uuid != nj.instance_uuid
        assert shared_lab.sites["new-york"].vcenter.thumbprint != shared_lab.sites["new-jersey"].vcenter.thumbprint
    finally:
        ny.close()
        nj.close()


def test_wrong_thumbprint_is_refused_before_login_naming_both(shared_lab: LabConfig) -> None:
    ny = shared_lab.vcenter_endpoint("new-york")
    nj_pin = shared_lab.sites["new-jersey"].vcenter.thumbprint
    with pytest.raises(ThumbprintMismatch) as caught:
        connect(replace(ny, tls=TlsPolicy(thumbprint=nj_pin)))
    assert caught.value.expected == nj_pin
    assert caught.value.actual == shared_lab.sites["new-york"].vcenter.thumbprint
    assert nj_pin in caught.value.message and caught.value.actual in caught.value.message
    assert caught.value.exit_code == ExitCode.CONNECTION


def test_verification_is_on_by_default_even_for_loopback(shared_lab: LabConfig) -> None:
    # pyvmomi alone would silently skip verification for 127.0.0.1; srmctl must not.
    ny = shared_lab.vcenter_endpoint("new-york")
    with pytest.raises(TlsVerificationFailed, match="certificate not trusted"):
        connect(replace(ny, tls=TlsPolicy()))


def test_ca_file_and_explicit_insecure_both_connect(shared_lab: LabConfig) -> None:
    ny = shared_lab.vcenter_endpoint("new-york")
    ca = shared_lab.sites["new-york"].vcenter.ca_file
    for policy in (TlsPolicy(ca_file=ca), TlsPolicy(insecure=True)):
        session = connect(replace(ny, tls=policy))
        assert session.content.about.apiType == "VirtualCenter"
        session.close()


def test_ca_of_the_other_site_is_not_trusted(shared_lab: LabConfig) -> None:
    ny = shared_lab.vcenter_endpoint("new-york")
    with pytest.raises(TlsVerificationFailed):
        connect(replace(ny, tls=TlsPolicy(ca_file=shared_lab.sites["new-jersey"].vcenter.ca_file)))


def test_bad_password_is_a_typed_authentication_error(shared_lab: LabConfig) -> None:
    ny = shared_lab.vcenter_endpoint("new-york")
    with pytest.raises(AuthenticationFailed) as caught:
        connect(replace(ny, secret=Secret.known("wrong")))
    assert "login failed for user 'administrator@new-york.lab'" in caught.value.message
    assert "wrong" not in caught.value.message  # never echo secrets
    assert caught.value.exit_code == ExitCode.CONNECTION


def test_nothing_listening_is_a_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from srmctl.adapters.endpoints import Secret, ServiceEndpoint

    with pytest.raises(ConnectionFailed, match="cannot connect"):
        connect(
            ServiceEndpoint(
                host="127.0.0.1", port=port, user="u", secret=Secret.known("p"), tls=TlsPolicy(insecure=True), timeout=2
            )
        )


def test_thumbprint_formats_are_normalised_and_garbage_refused(shared_lab: LabConfig) -> None:
    e = shared_lab.sites["new-york"].vcenter
    digits = e.thumbprint.split(":", 1)[1]
    colons = ":".join(digits[i : i + 2] for i in range(0, 64, 2)).upper()
    assert normalize_thumbprint(colons) == e.thumbprint
    assert fetch_thumbprint(e.host, e.port) == e.thumbprint
    with pytest.raises(UsageError):
        normalize_thumbprint("sha1:abcdef")


def test_expired_session_logs_in_again_transparently(fresh_lab: LabConfig) -> None:
    endpoint = fresh_lab.vcenter_endpoint("new-york")
    admin = connect(endpoint)
    # vcsim reads this Go duration at login time: only sessions created afterwards expire.
    admin.content.setting.UpdateOptions(
        changedValue=[vim.option.OptionValue(key="config.vmacore.soap.sessionTimeout", value="1s")]
    )
    admin.close()
    session = connect(endpoint)
    assert session.stub.logins == 1
    time.sleep(2.5)
    assert session.content.rootFolder.childEntity[0].name == "NY-DC"
    assert session.stub.logins == 2
    session.close()
