"""GET /openapi.json, GET /docs and Swagger UI's files under /docs/"""

import json
from functools import cache

from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.openapi import DOCS_CSP, build_document, swagger_file, swagger_initializer, swagger_page
from shop.entrypoints.routes import DOCS, DOCS_INITIALIZER, DOCS_SCRIPT, DOCS_STYLESHEET

PAGE = swagger_page()
# Relative, so the page finds the document behind any stage, custom domain or local gateway.
INITIALIZER = swagger_initializer("openapi.json")
# Swagger UI's files, by the route that serves each.
FILES = {DOCS_STYLESHEET.path: "swagger-ui.css", DOCS_SCRIPT.path: "swagger-ui-bundle.js"}


@cache
def document_json(server_url: str) -> str:
    """The document is the same for every request through one stage: build it once per warm function."""
    return json.dumps(build_document(server_url))


@cache
def bundled_file(name: str) -> str:
    """Read on first use, not at init: the 1.5 MB script would slow every cold start of this function."""
    return swagger_file(name)


@endpoint(DOCS)
def handler(request: ApiRequest) -> ApiResponse:
    route = request.event.get("resource")
    if route in FILES:
        media_type = DOCS_STYLESHEET.media_type if route == DOCS_STYLESHEET.path else DOCS_SCRIPT.media_type
        return ApiResponse(200, bundled_file(FILES[route]), media_type=f"{media_type}; charset=utf-8")
    if route == DOCS_INITIALIZER.path:
        return ApiResponse(200, INITIALIZER, media_type=f"{DOCS_INITIALIZER.media_type}; charset=utf-8")
    if request.path.endswith("/openapi.json"):
        # The server URL carries the stage, as the client called it (`/dev`, `/prod`).
        return ApiResponse(200, document_json(request.stage_path.rsplit("/", 1)[0] or "/"))
    return ApiResponse(200, PAGE, headers={"Content-Security-Policy": DOCS_CSP}, media_type="text/html; charset=utf-8")
