"""The job report as the API accepts it: parsing, validation and the canonical form.

The body is parsed here, not by Powertools' validation middleware, because the contract asks
for things that middleware does differently: JSON is decoded whatever the Content-Type (the
middleware answers 415 or parses forms), a duplicate key is refused (two parsers could read
different values), numbers stay exact (`Decimal`) so free-form objects store without loss,
and a message names the field in the contract's `jobs[0].create_time: field required` form.
"""

from __future__ import annotations

import json
from decimal import Context, Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from jobstatus.errors import InvalidRequest
from jobstatus.lifecycle import MAX_CREATE_TIME, MAX_JOB_ID, STATUS
from jobstatus.validation import CONTROL, describe, short

# DynamoDB nests maps and lists at most 32 levels deep; the field's own object is level 1.
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-attributes
MAX_OBJECT_DEPTH = 32
# DynamoDB numbers: 38 significant digits, magnitude from 1E-130 to below 1E+126.
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number
_NUMBER_DIGITS = 38
_NUMBER_MIN_EXP, _NUMBER_MAX_EXP = -130, 125

_PARSE_DIGITS = 120  # exact up to here; DynamoDB refuses anything longer anyway


def _integer(value: Any) -> Any:
    """JSON integer, integral number or string of decimal digits; never a boolean."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "must be an integer, not a boolean")
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()) or len(value) > 20:
            raise PydanticCustomError(
                "int_parsing", "must be an integer or a string of decimal digits, got {value}", {"value": short(value)}
            )
        return int(value)
    if isinstance(value, Decimal):
        # Only numbers too large for _number to expand arrive here integral (1e400, 1e999999999);
        # int() would build every digit, so anything past 2^63's 19 digits is refused first.
        if value.adjusted() > 19:
            raise PydanticCustomError("int_too_large", "is out of range, got {value}", {"value": short(value)})
        if value != value.to_integral_value():
            raise PydanticCustomError("int_from_float", "must be a whole number, got {value}", {"value": short(value)})
        return int(value)
    if not isinstance(value, int):
        raise PydanticCustomError("int_type", "must be an integer, got {kind}", {"kind": _kind(value)})
    return value


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _text_or_object(value: Any) -> str | dict[str, Any]:
    """`exceptions`, `metrics` and `plan`: the seed's table says String, its example sends an object."""
    if isinstance(value, (str, dict)):
        return value
    raise PydanticCustomError("freeform_type", "must be a string or a JSON object, got {kind}", {"kind": _kind(value)})


# The bounds come first so that they constrain the integer itself (and show in the OpenAPI
# document as minimum/maximum); _integer runs before them.
JobId = Annotated[int, Field(ge=1, le=MAX_JOB_ID), BeforeValidator(_integer)]
CreateTime = Annotated[int, Field(ge=0, le=MAX_CREATE_TIME), BeforeValidator(_integer)]
Status = Annotated[str, Field(strict=True, pattern=f"^{STATUS.pattern}$")]
TextOrObject = Annotated[
    str | dict[str, Any],
    PlainValidator(_text_or_object),
    WithJsonSchema({"oneOf": [{"type": "string"}, {"type": "object"}]}),
]


class ReportedJob(BaseModel):
    """One job's status. Unknown fields are kept: a newer agent's data must not be lost."""

    model_config = ConfigDict(extra="allow")

    job_id: JobId | None = None
    status: Status
    create_time: CreateTime
    exceptions: TextOrObject | None = None
    metrics: TextOrObject | None = None
    plan: TextOrObject | None = None


class JobReport(BaseModel):
    """The request body. `max_jobs` comes in the validation context (a deploy-time parameter)."""

    model_config = ConfigDict(extra="allow")

    jobs: list[ReportedJob] = Field(min_length=1)
    message_id: str = Field(strict=True, min_length=1, max_length=128)
    msg_confirm_topic: str | None = Field(default=None, strict=True)

    @field_validator("jobs", mode="before")
    @classmethod
    def _at_most_max_jobs(cls, value: Any, info: ValidationInfo) -> Any:
        # Checked before the items are validated, so an oversized list costs nothing.
        limit = (info.context or {}).get("max_jobs")
        if limit is not None and isinstance(value, list) and len(value) > limit:
            raise PydanticCustomError(
                "too_long", "at most {limit} jobs per report, got {count}", {"limit": limit, "count": len(value)}
            )
        return value

    @field_validator("message_id")
    @classmethod
    def _no_control_characters(cls, value: str) -> str:
        if CONTROL.search(value):
            raise PydanticCustomError("string_pattern_mismatch", "must not contain control characters")
        return value

    @field_validator("msg_confirm_topic")
    @classmethod
    def _mqtt_topic(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value:
            raise PydanticCustomError("string_too_short", "must not be empty")
        if "+" in value or "#" in value:
            raise PydanticCustomError("topic_wildcard", "must not contain the MQTT wildcards '+' or '#'")
        if "\x00" in value:
            raise PydanticCustomError("topic_nul", "must not contain NUL")
        if len(_utf8(value, "msg_confirm_topic")) > 256:
            raise PydanticCustomError("string_too_long", "must be at most 256 UTF-8 bytes")
        return value


# --- parsing -------------------------------------------------------------------------------


class _DuplicateKey(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_EXACT = Context(prec=_PARSE_DIGITS)


def _number(text: str) -> int | Decimal:
    """A JSON number with a fraction or exponent, in one form per value: 7.0 -> 7, 1.50 -> 1.5.

    Storing that form makes equal numbers byte-identical in DynamoDB, so a replay whose body
    differs only in how a number is written rewrites identical items.
    """
    value = Decimal(text)
    if value.is_finite() and abs(value.adjusted()) <= _PARSE_DIGITS:
        if value == value.to_integral_value():
            return int(value)
        return value.normalize(_EXACT)
    return value  # far out of range: refused by the checks below, never expanded


def parse_report(raw: bytes, *, max_jobs: int) -> JobReport:
    """Parse and validate a body, or raise InvalidRequest naming the field and the reason."""
    if not raw.strip():
        raise InvalidRequest("body: a JSON object is required")
    try:
        text = raw.decode("utf-8-sig")
        document = json.loads(text, object_pairs_hook=_object, parse_float=_number, parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"body: not valid UTF-8 (byte {exc.start})") from None
    except _DuplicateKey as exc:
        raise InvalidRequest(f"body: duplicate key {short(exc)!r}") from None
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"body: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InvalidRequest("body: nested too deeply") from None
    except ValueError as exc:  # e.g. NaN, or an integer literal beyond Python's digit limit
        raise InvalidRequest(f"body: malformed JSON: {short(exc)}") from None
    if not isinstance(document, dict):
        raise InvalidRequest(f"body: must be a JSON object, got {_kind(document)}")
    try:
        report = JobReport.model_validate(document, context={"max_jobs": max_jobs})
    except ValidationError as exc:
        raise InvalidRequest(describe(exc.errors(include_url=False, include_input=False))) from None
    _check_storable(report)
    return report


# --- what DynamoDB can store -----------------------------------------------------------------


def _utf8(text: str, path: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(f"{path}: contains an unpaired surrogate, which is not valid Unicode") from None


def _check_storable(report: JobReport) -> None:
    """Refuse, naming the field, what DynamoDB would reject later (a 500, or a half-written report)."""
    _utf8(report.message_id, "message_id")
    _check_extras(report.model_extra, "body", "")  # report extras are kept under the ledger's `extra` map
    for index, job in enumerate(report.jobs):
        for name in ("exceptions", "metrics", "plan"):
            value = getattr(job, name)
            if value is not None:
                _check_value(value, f"jobs[{index}].{name}", 1)
        _check_extras(job.model_extra, f"jobs[{index}]", f"jobs[{index}].")  # job extras live under `extra`


def _check_extras(extras: dict[str, Any] | None, where: str, prefix: str) -> None:
    """Fields beyond the contract's: their names are the keys of an `extra` map, so an empty name
    cannot be stored, as an empty key of any object cannot (moto stores one, and then streams a record
    that no SDK parses). A name that is not valid Unicode is refused when the job is parsed."""
    for name, value in (extras or {}).items():
        if not name:
            raise InvalidRequest(f"{where}: a field with an empty name cannot be stored")
        _check_value(value, prefix + name, 2)


def _check_value(value: Any, path: str, depth: int) -> None:
    if isinstance(value, str):
        if not value.isascii():
            _utf8(value, path)
    elif isinstance(value, dict):
        if depth > MAX_OBJECT_DEPTH:
            raise InvalidRequest(f"{path}: nested deeper than {MAX_OBJECT_DEPTH} levels")
        for key, item in value.items():
            if not key:
                raise InvalidRequest(f"{path}: an empty object key cannot be stored")
            _utf8(key, path)
            _check_value(item, f"{path}.{short(key)}", depth + 1)
    elif isinstance(value, list):
        if depth > MAX_OBJECT_DEPTH:
            raise InvalidRequest(f"{path}: nested deeper than {MAX_OBJECT_DEPTH} levels")
        for index, item in enumerate(value):
            _check_value(item, f"{path}[{index}]", depth + 1)
    elif isinstance(value, (int, Decimal)) and not isinstance(value, bool) and not _storable_number(value):
        raise InvalidRequest(f"{path}: the number {short(value)} is beyond DynamoDB's range or precision")


def _storable_number(value: int | Decimal) -> bool:
    if isinstance(value, int):
        digits = str(abs(value)).rstrip("0")
        return len(digits) <= _NUMBER_DIGITS and len(str(abs(value))) - 1 <= _NUMBER_MAX_EXP
    if not value.is_finite():
        return False
    significant = len(value.as_tuple().digits)  # already normalized by _number
    return significant <= _NUMBER_DIGITS and _NUMBER_MIN_EXP <= value.adjusted() <= _NUMBER_MAX_EXP


# --- stored form ----------------------------------------------------------------------------


def job_document(job: ReportedJob) -> dict[str, Any]:
    """The job as stored: known fields that are present, then its extra fields."""
    document = {k: v for k, v in job.__dict__.items() if v is not None}
    document.update(job.model_extra or {})
    return document
