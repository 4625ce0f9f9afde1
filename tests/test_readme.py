"""The README's set-up commands are what CI runs, and the reference pages cover every
setting (docs/settings.md) and every debugging file (docs/debugging.md)."""

from __future__ import annotations

import re
from pathlib import Path

from lib_facepop.debug import DEBUG_FILES
from lib_facepop.settings import option_specs

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_quick_start_has_two_commands_and_ci_runs_the_test_one() -> None:
    commands = _quick_start_commands()
    assert len(commands) == 2
    main_job, tests = commands
    assert "lib_facepop demo" in main_job
    assert "pytest" in tests
    assert tests in (ROOT / ".ci" / "run").read_text()


def test_every_setting_is_in_the_settings_reference() -> None:
    page = (ROOT / "docs" / "settings.md").read_text()
    missing = [spec.name for spec in option_specs() if f"### `{spec.name}`" not in page]
    assert missing == []


def test_every_debugging_file_is_on_the_debugging_page() -> None:
    page = (ROOT / "docs" / "debugging.md").read_text()
    missing = [name for name in DEBUG_FILES if f"`{name}`" not in page]
    assert missing == []
