import sys
from pathlib import Path

# The contract machinery (contract_spec.py) is shared by this folder's tests; with --import-mode=importlib a
# test module's folder is not on sys.path, so it is put there.
sys.path.insert(0, str(Path(__file__).parent))

from srmsim_fixtures import _no_leftover_faults, srmsim  # noqa: E402, F401
