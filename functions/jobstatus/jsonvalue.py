"""JSON text with exact numbers: what the report hashes, and what the service sends back of what it stored.

`json.dumps` cannot write a Decimal as a number, and going through floats would lose digits (a
metric of 38 significant digits is stored exactly), so this small encoder exists. Stored numbers
come back as int or Decimal (`jobstatus.dynamodb.deserialize`), each in one form.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

# json's C encoder writes everything but a Decimal exactly as `_written` does, about ten times as
# fast (the report canonicalizes each job twice: its digest and its run); a value that holds a
# Decimal (a number with a fraction) makes it raise TypeError, and is written by `_written`.
_SORTED = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, check_circular=False)
_AS_IS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, numbers in their one form.

    Two report bodies are "the same payload" (a replay, not a 422) exactly when their canonical
    forms are equal. The form is pinned by tests/unit/test_models.py: the ledger keeps hashes of
    it for days, across deploys.
    """
    try:
        return _SORTED.encode(value)
    except TypeError:
        return _written(value, sort_keys=True)


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept as is, Decimal written as the number it is."""
    try:
        return _AS_IS.encode(value)
    except TypeError:
        return _written(value, sort_keys=False)


def _written(value: Any, *, sort_keys: bool) -> str:
    if isinstance(value, dict):
        items = sorted(value.items()) if sort_keys else value.items()
        return "{" + ",".join(f"{_string(k)}:{_written(v, sort_keys=sort_keys)}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_written(v, sort_keys=sort_keys) for v in value) + "]"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)  # int, bool, None


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
