"""JSON text with exact numbers: what the report hashes, and what the service sends back of what it stored.

`json.dumps` cannot write a Decimal as a number, and going through floats would lose digits (a
metric of 38 significant digits is stored exactly), so this small encoder exists. Stored numbers
come back as int or Decimal (`jobstatus.dynamodb.deserialize`), each in one form.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, numbers in their one form.

    Two report bodies are "the same payload" (a replay, not a 422) exactly when their canonical
    forms are equal. The form is pinned by tests/unit/test_models.py: the ledger keeps hashes of
    it for days, across deploys.
    """
    return dumps(value, sort_keys=True)


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON, non-ASCII kept as is, Decimal written as the number it is."""
    if isinstance(value, dict):
        items = sorted(value.items()) if sort_keys else value.items()
        return "{" + ",".join(f"{_string(k)}:{dumps(v, sort_keys=sort_keys)}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v, sort_keys=sort_keys) for v in value) + "]"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)  # int, bool, None


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
