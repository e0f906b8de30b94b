"""The OpenAPI 3.1 document, generated from the route table and the pydantic models it names."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shop.routes import ROUTES, Route

TITLE = "Shop API"
VERSION = "1.0.0"
_REF = "#/components/schemas/{model}"

_PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail", "request_id"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["location", "message"],
                "properties": {"location": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def build_document(server_url: str) -> dict[str, Any]:
    models = _models()
    refs, definitions = models_json_schema([(model, mode) for model, mode in models], ref_template=_REF)
    schemas: dict[str, Any] = {**definitions.get("$defs", {}), "Problem": _PROBLEM}
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"bearer": []}],
    }


def _models() -> list[tuple[type[BaseModel], Any]]:
    found: list[tuple[type[BaseModel], Any]] = []
    for route in ROUTES:
        for model, mode in (
            (route.request_body, "validation"),
            (route.query, "validation"),
            (route.response, "serialization"),
        ):
            if model is not None and (model, mode) not in found:
                found.append((model, mode))
    return found


def _operation(route: Route, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": route.operation_id, "summary": route.summary}
    if route.public:
        operation["security"] = []
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _path_parameters(route.path)
    ]
    parameters += [
        {"name": name, "in": "header", "required": False, "description": text, "schema": {"type": "string"}}
        for name, text in route.headers
    ]
    if route.query is not None:
        properties = route.query.model_json_schema(ref_template=_REF)["properties"]
        parameters += [
            {"name": name, "in": "query", "required": False, "schema": schema} for name, schema in properties.items()
        ]
    if parameters:
        operation["parameters"] = parameters
    if route.request_body is not None:
        schema = refs[(route.request_body, "validation")]
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    if route.response is not None:
        schema = refs[(route.response, "serialization")]
    else:
        schema = {"type": "object"} if route.media_type == "application/json" else {"type": "string"}
    success = {
        "description": HTTPStatus(route.success_status).phrase,
        "content": {route.media_type: {"schema": schema}},
    }
    responses: dict[str, Any] = {str(route.success_status): success}
    for status in route.errors:
        responses[str(status)] = {
            "description": HTTPStatus(status).phrase,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    operation["responses"] = responses
    return operation


def _path_parameters(path: str) -> list[str]:
    return [segment[1:-1] for segment in path.split("/") if segment.startswith("{") and segment.endswith("}")]


def swagger_page(document_url: str) -> str:
    """Swagger UI, loaded from a pinned CDN release, reading the document next to it."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title>
<link rel="stylesheet" href="{SWAGGER_CDN}/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="{SWAGGER_CDN}/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: "{document_url}", dom_id: "#ui"}});</script>
</body></html>"""


SWAGGER_CDN = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.17.14"
DOCS_CSP = (
    f"default-src 'none'; script-src 'unsafe-inline' {SWAGGER_CDN}; style-src {SWAGGER_CDN}; "
    "img-src data:; connect-src 'self'"
)
