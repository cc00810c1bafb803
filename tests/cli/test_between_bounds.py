"""Issue 22: ``--between wait:DURATION`` is capped like every other duration (3650d), refused as a usage
error before anything runs instead of crashing while parsing or after the first plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from srmctl.cli.main import cli
from srmctl.engine.site_failback import Between
from srmctl.errors import UsageError

SITE = Path(__file__).parents[2] / "playbooks" / "site"


@pytest.mark.parametrize("duration", ["9999999999d", "3000000d", "3651d", "87601h"])
def test_a_wait_longer_than_ten_years_is_a_usage_error(tmp_path: Path, duration: str) -> None:
    with pytest.raises(UsageError, match="at most 3650d"):
        Between.parse(f"wait:{duration}")
    home = tmp_path / "home"
    result = CliRunner().invoke(
        cli,
        [
            "failback",
            str(SITE / "tier1-db.yaml"),
            str(SITE / "tier2-apps.yaml"),
            "--between",
            f"wait:{duration}",
            "--yes",
        ],
        env={"SRMCTL_HOME": str(home)},
    )
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "at most 3650d" in result.stderr and not home.exists()


def test_ten_years_is_still_a_wait() -> None:
    assert Between.parse("wait:3650d") == Between("wait", 3650 * 86400)
