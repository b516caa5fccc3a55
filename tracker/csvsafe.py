"""CSV cells a spreadsheet shows but never runs (OWASP "CSV injection").

A text cell starting with `=`, `+`, `-`, `@`, a tab, a carriage return or a NUL may be read as a
formula by Excel, LibreOffice or Google Sheets, so it gets a leading single quote and stays text.
Numbers stay numbers: a number, or text that reads as one (`-12.50`, `-1,234.50`, `-15.75%`), is
written as it is. Every CSV the service writes goes through `cell` or `row`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")
NUMBER = re.compile(r"[+-]?(\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?")


def cell(value: Any) -> Any:
    """`value`, with a leading quote when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not NUMBER.fullmatch(value):
        return "'" + value
    return value


def row(values: Iterable[Any]) -> list[Any]:
    return [cell(v) for v in values]
