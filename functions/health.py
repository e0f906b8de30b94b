"""GET /health: liveness, with no AWS call, so it answers even when a dependency is down."""

from shop.domain.models import Health
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import HEALTH


@endpoint(HEALTH)
def handler(request: ApiRequest) -> ApiResponse:
    return ApiResponse(200, Health())
