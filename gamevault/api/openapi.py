"""The OpenAPI document, told the truth about errors: every operation may answer a problem document.

FastAPI documents only 200 and a 422 as `application/json`; the gateway answers every error as
`application/problem+json` (RFC 9457) and, behind its middleware, any route can answer 401, 403,
413, 429 or 503. A `default` problem response on every operation says exactly that, so clients
and schemathesis' conformance checks hold the API to what it really does.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gamevault.api.problems import MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; validation errors add `errors`.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "loc": {"type": "array", "items": {"type": "string"}},
            "msg": {"type": "string"}, "type": {"type": "string"}}}},
    },
}
PROBLEM_CONTENT = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def with_problems(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status[:1] in "45":
                    response["content"] = PROBLEM_CONTENT
            responses["default"] = {"description": "A problem (RFC 9457)", "content": PROBLEM_CONTENT}
    return document


def install(api: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = with_problems(get_openapi(
                title=api.title, version=api.version, description=api.description, routes=api.routes))
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
