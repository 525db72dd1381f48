"""Every campus handler method declares a permission from the one table, and the generated
OpenAPI document lists each of them."""

from __future__ import annotations

import pytest

from nbcampus.hub.campus.handlers import default_handlers
from nbcampus.hub.campus.openapi import METHODS, build_openapi
from nbcampus.hub.campus.permissions import PERMISSIONS, needs_permission


def test_every_handler_method_declares_a_known_permission() -> None:
    count = 0
    for _pattern, handler, *_ in default_handlers:
        for method in METHODS:
            fn = getattr(handler, method, None)
            if fn is None or fn.__qualname__.startswith("RequestHandler."):
                continue
            if getattr(fn, "__nbcampus_public__", False):
                continue  # declared open to anyone (the public catalog), said so in OpenAPI
            permission = getattr(fn, "__nbcampus_permission__", None)
            assert permission in PERMISSIONS, f"{handler.__name__}.{method} has no permission"
            count += 1
    assert count >= 40


def test_openapi_lists_every_operation() -> None:
    doc = build_openapi(default_handlers, "/services/campus/api/v1")
    operations = [op for item in doc["paths"].values() for op in item.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    assert all(op["summary"] for op in operations)
    for op in operations:  # a permission from the table, or declared public (no token)
        assert op.get("x-permission") in PERMISSIONS or op.get("security") == [], op
    public = [op["operationId"] for op in operations if op.get("security") == []]
    # the catalog, and media files whose signed URL is the credential
    assert public and all("atalog" in name or "media" in name for name in public), public
    assert not [p for p in doc["paths"] if "(" in p or "[" in p]  # every regex became {name}
    assert doc["paths"]["/classes/{class_id}/enrollments/{student}"]["delete"]


def test_unknown_permission_fails_at_import() -> None:
    with pytest.raises(KeyError, match="unknown campus permission"):
        needs_permission("courses:destroy")
