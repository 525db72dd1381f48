"""Input hygiene without a Hub: ids are ASCII digits, text has no control characters, dates
fall in a sane range, and every operation that takes a body declares its JSON Schema, which
the OpenAPI documents of both services publish."""

from __future__ import annotations

from datetime import date

import pytest

from nbcampus.grader.handlers import default_handlers as grader_handlers
from nbcampus.grader.openapi import build_openapi as grader_openapi
from nbcampus.hub.campus import validate
from nbcampus.hub.campus.handlers import default_handlers as campus_handlers
from nbcampus.hub.campus.openapi import build_openapi as campus_openapi
from nbcampus.openapi import BODY_METHODS, body_of, declared_methods
from nbcampus.web import APIError, clean_text, parse_date, parse_datetime, parse_id

SERVICES = [
    pytest.param(campus_handlers, campus_openapi, 17, id="campus"),
    pytest.param(grader_handlers, grader_openapi, 5, id="grader"),
]


@pytest.mark.parametrize("raw", ["²", "١٢", "１", "1²", "-1", "+1", " 1", "1 ", "", "0x1", "1.0"])
def test_ids_are_ascii_digits_only(raw: str) -> None:
    with pytest.raises(APIError) as err:
        parse_id(raw, "class")
    assert err.value.status_code == 400 and err.value.details == {"field": "class"}


def test_ids_in_range_parse_and_absurd_ones_are_refused() -> None:
    assert parse_id("0042", "class") == 42
    assert validate.path_id("2147483647", "class") == 2**31 - 1
    for raw in ("2147483648", "99999999999", "1" * 40):
        with pytest.raises(APIError):
            parse_id(raw, "class")


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\r", "\x7f", "\x85", "\x9b"])
def test_text_refuses_control_characters(char: str) -> None:
    for multiline in (False, True):
        with pytest.raises(APIError) as err:
            clean_text(f"a{char}b", "title", multiline=multiline)
        assert err.value.details == {"field": "title"} and "control character" in err.value.message
    with pytest.raises(APIError):
        validate.string({"title": f"Hi{char}"}, "title")


def test_long_text_keeps_tabs_and_newlines() -> None:
    assert clean_text("a\tb\r\nc\n", "body", multiline=True) == "a\tb\nc\n"
    for char in ("\t", "\n"):
        with pytest.raises(APIError):
            clean_text(f"a{char}b", "title")
    assert validate.string({"body": "x\ny"}, "body", multiline=True) == "x\ny"


@pytest.mark.parametrize(
    "raw", ["0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31", "２０２６-01-01", "2026-1-01"]
)
def test_dates_outside_the_sane_range_are_refused(raw: str) -> None:
    with pytest.raises(APIError) as err:
        parse_date(raw, "start_date")
    assert err.value.status_code == 400 and err.value.details == {"field": "start_date"}


@pytest.mark.parametrize(
    "raw", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00", "soon", "²"]
)
def test_times_outside_the_sane_range_are_refused(raw: str) -> None:
    with pytest.raises(APIError) as err:
        validate.moment({"publish_at": raw}, "publish_at")
    assert err.value.details == {"field": "publish_at"}


def test_sane_dates_and_times_parse() -> None:
    assert parse_date("2000-01-01", "d") == date(2000, 1, 1)
    assert parse_date("2100-12-31", "d") == date(2100, 12, 31)
    assert parse_datetime("2026-05-01T09:00", "t").tzinfo is not None  # no offset: UTC
    assert parse_datetime("2026-05-01T09:00:00Z", "t").utcoffset().total_seconds() == 0


@pytest.mark.parametrize("handlers,build,bodies", SERVICES)
def test_every_body_operation_declares_its_schema(handlers, build, bodies: int) -> None:
    """Every POST/PUT/PATCH says what body it takes (None: none), and the OpenAPI document
    carries each declared schema as the operation's requestBody."""
    doc = build(handlers, "/api/v1")
    published = {
        (path, method): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in BODY_METHODS
    }
    undeclared = []
    with_body = 0
    for pattern, handler, *_ in handlers:
        if not pattern.startswith("api/"):
            continue
        for method, fn in declared_methods(handler):
            if method not in BODY_METHODS:
                continue
            declared, schema = body_of(fn)
            if not declared:
                undeclared.append(f"{handler.__name__}.{method}")
            elif schema is not None:
                with_body += 1
    assert not undeclared, f"no body_schema on: {', '.join(undeclared)}"
    in_doc = [op for op in published.values() if "requestBody" in op]
    assert len(in_doc) == with_body >= bodies
    for op in in_doc:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        assert schema["type"] == "object" and schema["properties"], op["operationId"]
    assert doc["openapi"].startswith("3.1")
