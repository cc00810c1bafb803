"""srmctl: failback orchestration for VMware SRM with vSphere Replication."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("srmctl")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
