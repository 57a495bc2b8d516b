"""The README's table of extras names every extra pyproject.toml declares, and no other:
a user picks extras from that table, so one missing from it is one nobody installs."""

import re
from importlib.metadata import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_lists_every_extra_once() -> None:
    # The installed (editable) package's metadata: what pyproject.toml declared.
    extras = set(metadata("dot-orchestration").get_all("Provides-Extra") or ())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| extra | brings | for |", 1)[1].split("\n\n", 1)[0]
    listed = re.findall(r"^\| `([\w-]+)` \|", table, flags=re.MULTILINE)
    assert sorted(listed) == sorted(set(listed)), "an extra is listed twice"
    assert set(listed) == extras
