"""The README is the reference users read: it must not fall behind the code it describes."""

from __future__ import annotations

import re
from pathlib import Path

from quizrelay.settings import Settings
from quizrelay.vocabulary import ERROR_CODES

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _section(title: str) -> str:
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ )", README, re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def test_every_error_code_is_explained_in_the_error_table() -> None:
    table = _section("Error codes")
    listed = re.findall(r"^\| `([a-z_]+)` \|", table, re.M)
    assert listed == list(ERROR_CODES), (
        "the table lists the codes of vocabulary.ERROR_CODES, in order"
    )


def test_every_setting_is_in_the_configuration_table() -> None:
    table = _section("Configuration")
    missing = [
        f"QUIZRELAY_{name.upper()}"
        for name in Settings.model_fields
        if f"`QUIZRELAY_{name.upper()}`" not in table
    ]
    assert not missing, f"README's configuration table does not name {missing}"
