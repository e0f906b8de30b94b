"""GET /openapi.json and GET /docs"""

import json

from shop.http import ApiRequest, ApiResponse, endpoint
from shop.openapi import DOCS_CSP, build_document, swagger_page
from shop.routes import DOCS


@endpoint(DOCS)
def handler(request: ApiRequest) -> ApiResponse:
    # Links are relative to where the client called us, so they hold behind any stage or domain.
    base = request.stage_path.rsplit("/", 1)[0]
    if request.path.endswith("/openapi.json"):
        return ApiResponse(200, json.dumps(build_document(base or "/")))
    page = swagger_page(f"{base}/openapi.json")
    return ApiResponse(200, page, headers={"Content-Security-Policy": DOCS_CSP}, media_type="text/html; charset=utf-8")
