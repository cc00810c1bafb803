"""Every module under srmctl/ stays under 400 lines: a module that grows past it is split by responsibility
(docs/architecture.md, "Layers"). A seeded tree proves the check can fail."""

from __future__ import annotations

from pathlib import Path

import srmctl

PACKAGE = Path(srmctl.__file__).parent
LIMIT = 400  # lines: a module of LIMIT lines or more is too long


def oversized(package: Path) -> dict[str, int]:
    """Each module (``.py`` file) under ``package`` of ``LIMIT`` lines or more, by its path in the package."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines >= LIMIT:
            found[path.relative_to(package).as_posix()] = lines
    return found


def test_every_module_is_under_the_limit() -> None:
    assert oversized(PACKAGE) == {}


def test_a_seeded_long_module_is_found(tmp_path: Path) -> None:
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "long.py").write_text("x = 1\n" * LIMIT, encoding="utf-8")
    (tmp_path / "engine" / "short.py").write_text("x = 1\n" * (LIMIT - 1), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("x\n" * 2 * LIMIT, encoding="utf-8")
    assert oversized(tmp_path) == {"engine/long.py": LIMIT}
