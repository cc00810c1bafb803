from srmsim_fixtures import _no_leftover_faults, srmsim  # noqa: F401
