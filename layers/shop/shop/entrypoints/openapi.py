"""The OpenAPI 3.1 document, generated from the route table and the pydantic models it names."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema
from swagger_ui_bundle import swagger_ui_path

from shop.domain.permissions import RULES, required_roles
from shop.entrypoints.routes import ROUTES, Route

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


# API Gateway's own answers, in its own shape: `{"message": ...}` as application/json (the
# message is null when the authorizer itself failed). The template's GatewayResponses add the
# security headers to them.
_GATEWAY_MESSAGE = {
    "type": "object",
    "description": "An answer of API Gateway itself, given before or instead of the function's",
    "required": ["message"],
    "properties": {"message": {"type": ["string", "null"]}},
}
_ANY_ROUTE_GATEWAY_ANSWERS = {
    429: "The stage's throttling limit (API Gateway)",
    502: "The function failed or returned a malformed answer (API Gateway)",
    504: "The function did not answer within 29 s (API Gateway)",
}
_PROTECTED_ROUTE_GATEWAY_ANSWERS = {
    401: "No bearer token, or one the authorizer refused (API Gateway)",
    403: "The authorizer's policy does not allow this call (API Gateway)",
    500: "The authorizer failed (API Gateway)",
}
_BODY_ROUTE_GATEWAY_ANSWERS = {413: "The request body is over API Gateway's 10 MB limit (API Gateway)"}
# What reading any JSON body may answer (shop.entrypoints.http.ApiRequest.body_as): unreadable,
# duplicate keys or too deep 400, over 64 KiB 413, not application/json 415, invalid 422.
_BODY_PROBLEMS = (400, 413, 415, 422)
_PROBLEM_JSON = "application/problem+json"
_GATEWAY_JSON = "application/json"


def build_document(server_url: str) -> dict[str, Any]:
    models = _models()
    refs, definitions = models_json_schema([(model, mode) for model, mode in models], ref_template=_REF)
    schemas: dict[str, Any] = {**definitions.get("$defs", {}), "Problem": _PROBLEM, "GatewayMessage": _GATEWAY_MESSAGE}
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
    if route.action is not None:
        roles = [role.value for role in required_roles(route.action)]
        operation["x-required-roles"] = roles
        operation["description"] = _roles_description(route, roles)
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _path_parameters(route.path)
    ]
    parameters += [
        {
            "name": header.name,
            "in": "header",
            "required": header.required,
            "description": header.description,
            "schema": TypeAdapter(header.value_type).json_schema(),
        }
        for header in route.headers
    ]
    if route.query is not None:
        query_schema = route.query.model_json_schema(ref_template=_REF)
        required = set(query_schema.get("required", []))
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": schema}
            for name, schema in query_schema["properties"].items()
        ]
    if parameters:
        operation["parameters"] = parameters
    if route.request_body is not None:
        schema = refs[(route.request_body, "validation")]
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    operation["responses"] = _responses(route, refs)
    return operation


def _roles_description(route: Route, roles: list[str]) -> str:
    assert route.action is not None
    text = f"Requires one of the roles: {', '.join(roles)} (action `{route.action.value}`); otherwise 403."
    if RULES[route.action].own_only:
        text += " Only on the caller's own resources: anyone else's is a 404."
    return text


def _responses(route: Route, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    """Every answer the route can give: the function's, and API Gateway's own in front of it."""
    if route.response is not None:
        schema = refs[(route.response, "serialization")]
    else:
        schema = {"type": "object"} if route.media_type == "application/json" else {"type": "string"}
    answers: dict[int, dict[str, Any]] = {}

    def add(status: int, media_type: str, body: dict[str, Any], description: str | None = None) -> None:
        answer = answers.setdefault(status, {"description": HTTPStatus(status).phrase, "content": {}})
        answer["content"][media_type] = {"schema": body}
        if description is not None:
            answer["description"] = f"{answer['description']}. {description}"

    for status in (route.success_status, *route.response_statuses):
        add(status, route.media_type, schema)
    problem = {"$ref": "#/components/schemas/Problem"}
    body_problems = _BODY_PROBLEMS if route.request_body is not None else ()
    # 500: whatever escapes a handler becomes a problem without internals (shop.entrypoints.http.endpoint).
    for status in (*route.errors, *body_problems, 500):
        add(status, _PROBLEM_JSON, problem)
    gateway = dict(_ANY_ROUTE_GATEWAY_ANSWERS)
    if not route.public:
        gateway |= _PROTECTED_ROUTE_GATEWAY_ANSWERS
    if route.request_body is not None:
        gateway |= _BODY_ROUTE_GATEWAY_ANSWERS
    for status, description in gateway.items():
        add(status, _GATEWAY_JSON, {"$ref": "#/components/schemas/GatewayMessage"}, description)
    if route.etag:
        answers[route.success_status]["headers"] = {
            "ETag": {"description": "The product's version, for If-Match", "schema": {"type": "string"}}
        }
    if 429 in route.errors:
        answers[429]["headers"] = {
            "Retry-After": {
                "description": "Seconds until the refused attempts may be retried (the function's 429)",
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return {str(status): answers[status] for status in sorted(answers)}


def _path_parameters(path: str) -> list[str]:
    return [segment[1:-1] for segment in path.split("/") if segment.startswith("{") and segment.endswith("}")]


def swagger_page() -> str:
    """Swagger UI's page: its stylesheet and scripts are files beside it (`docs/...`), so no inline code runs."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title>
<link rel="stylesheet" href="docs/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/swagger-initializer.js"></script>
</body></html>"""


def swagger_initializer(document_url: str) -> str:
    """The script that starts Swagger UI on the document; the URL is relative to the page."""
    return f"window.ui = SwaggerUIBundle({{url: {json.dumps(document_url)}, dom_id: '#ui'}});\n"


def swagger_file(name: str) -> str:
    """One of Swagger UI's own files, from the swagger-ui-bundle package (a dependency of the layer)."""
    text: str = (swagger_ui_path / name).read_text(encoding="utf-8")
    return text


# Swagger UI needs its own files, the document and the API on the same origin, and data: images in
# its stylesheet; nothing inline runs, and nothing comes from elsewhere.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
