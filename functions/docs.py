"""GET /openapi.json and GET /docs"""

import json
from functools import cache

from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.openapi import DOCS_CSP, build_document, swagger_page
from shop.entrypoints.routes import DOCS

# Relative, so the page finds the document behind any stage, custom domain or local gateway.
PAGE = swagger_page("openapi.json")


@cache
def document_json(server_url: str) -> str:
    """The document is the same for every request through one stage: build it once per warm function."""
    return json.dumps(build_document(server_url))


@endpoint(DOCS)
def handler(request: ApiRequest) -> ApiResponse:
    if request.path.endswith("/openapi.json"):
        # The server URL carries the stage, as the client called it (`/dev`, `/prod`).
        return ApiResponse(200, document_json(request.stage_path.rsplit("/", 1)[0] or "/"))
    return ApiResponse(200, PAGE, headers={"Content-Security-Policy": DOCS_CSP}, media_type="text/html; charset=utf-8")
