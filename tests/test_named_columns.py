"""Tests that write rows into the services' tables name the columns: an INSERT with VALUES and no column list
binds values to columns by position, so a migration that adds a column (a NOT NULL one with a default, say) breaks
such a test or, worse, shifts what it writes. A table the test creates itself is its own to write as it likes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_UNNAMED = re.compile(r'INSERT\s+INTO\s+"?(\w+)"?\s+VALUES', re.IGNORECASE)
_CREATED = re.compile(r'CREATE\s+(?:TEMP(?:ORARY)?\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"?(\w+)"?', re.IGNORECASE)


def test_tests_name_the_columns_of_the_rows_they_insert_into_the_services_tables() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "*/tests/*.py", "tests/*.py"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    unnamed = []
    for name in listed:
        source = (REPO / name).read_text()
        own = {table.lower() for table in _CREATED.findall(source)}
        for found in _UNNAMED.finditer(source):
            if found.group(1).lower() not in own:
                unnamed.append(f"{name}:{source.count(chr(10), 0, found.start()) + 1} {found.group(1)}")
    assert unnamed == []
