"""How a refusal reads, the same for a report body and a query parameter: `field: what is wrong`.

pydantic's messages ("Input should be ...") are reworded into the contract's voice ("must be
..."), the first error is named with a count of the others, and a bad value is echoed back as at
most a short prefix, never whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

ECHO_CHARS = 32  # at most this many characters of a bad value go back to the caller
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc, exactly
_SHOULD = re.compile(r"^(?:Input|String|List|Value) should")


def short(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "…"


def describe(errors: Sequence[Any], *, skip: int = 0) -> str:
    """The first of pydantic's errors as `jobs[0].create_time: field required`, plus how many more there are.

    `skip` drops leading parts of the location (Powertools puts "query" or "path" first).
    """
    first = errors[0]
    parts = tuple(first["loc"])[skip:]
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts).lstrip(".")
    message = "field required" if first["type"] == "missing" else reword(first["msg"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path or 'body'}: {message}{more}"


def reword(message: str) -> str:
    """pydantic's "Input should be ..." as "must be ...", the contract's voice."""
    return _SHOULD.sub("must", message).replace(" have at least 1 item after validation, not 0", " not be empty")
