"""GET /openapi.json and GET /docs"""

import json

from shop.http import ApiRequest, ApiResponse, endpoint
from shop.openapi import DOCS_CSP, build_document, swagger_page
from shop.routes import DOCS


@endpoint(DOCS)
def handler(request: ApiRequest) -> ApiResponse:
    if request.path.endswith("/openapi.json"):
        # The server URL carries the stage, as the client called it (`/dev`, `/prod`).
        return ApiResponse(200, json.dumps(build_document(request.stage_path.rsplit("/", 1)[0] or "/")))
    # Relative, so the page finds the document behind any stage, custom domain or local gateway.
    page = swagger_page("openapi.json")
    return ApiResponse(200, page, headers={"Content-Security-Policy": DOCS_CSP}, media_type="text/html; charset=utf-8")
