import sys
from pathlib import Path

# The lab helpers live beside the tests (tests/ is not a package).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from srmsim_lab import make_lab  # noqa: E402,F401
