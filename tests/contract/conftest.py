import sys
from pathlib import Path

# The shared srmsim fixtures live in tests/fixtures (tests/ is not a package).
sys.path.insert(0, str(next(p for p in Path(__file__).resolve().parents if p.name == "tests") / "fixtures"))

from srmsim_fixtures import _no_leftover_faults, srmsim  # noqa: E402,F401
