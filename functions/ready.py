"""GET /ready"""

from shop.entrypoints.composition import readiness_probe
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import READY
from shop.entrypoints.settings import load_settings

probe = readiness_probe(load_settings())


@endpoint(READY)
def handler(request: ApiRequest) -> ApiResponse:
    readiness = probe.check()
    return ApiResponse(200 if readiness.status == "ready" else 503, readiness)
