"""Comments and docs that name a file of the repository name one that exists: a test or module renamed or
removed leaves no stale pointer behind (issue #19 found three comments citing tests that did not exist)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITED = re.compile(r"(?<![\w/.-])((?:srmctl|tests|bench|docs|scripts)/[\w/.-]+\.(?:py|md|yaml))\b")


def missing_citations(root: Path, sources: list[Path]) -> list[str]:
    """Every ``path`` cited in ``sources`` that is not a file or folder under ``root``, as ``source: path``."""
    found = []
    for source in sources:
        for path in sorted(set(CITED.findall(source.read_text(encoding="utf-8")))):
            if not (root / path).exists():
                found.append(f"{source.relative_to(root)}: {path}")
    return found


def _sources(root: Path) -> list[Path]:
    files = [*sorted((root / "srmctl").rglob("*.py")), *sorted((root / "docs").glob("*.md"))]
    return [*files, root / "README.md"]


def test_every_cited_repository_file_exists() -> None:
    assert missing_citations(ROOT, _sources(ROOT)) == []


def test_a_seeded_stale_citation_is_found(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_here.py").write_text("")
    module = tmp_path / "module.py"
    module.write_text('"""Checked by tests/test_here.py and by tests/test_gone.py."""\n')
    assert missing_citations(tmp_path, [module]) == ["module.py: tests/test_gone.py"]
