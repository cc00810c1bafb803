"""srmctl: failback orchestration for VMware SRM with vSphere Replication."""


def __getattr__(name: str) -> str:
    # The version is read from the installed metadata on first use only: importlib.metadata costs more at
    # start-up than click itself, and every srmctl command imports this package.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("srmctl")
    except PackageNotFoundError:  # running from a source tree without installation
        found = "0.0.0"
    globals()["__version__"] = found
    return found
