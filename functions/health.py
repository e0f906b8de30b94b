"""GET /health: liveness, with no AWS call, so it answers even when a dependency is down."""

from shop.http import ApiRequest, ApiResponse, endpoint
from shop.models import Health
from shop.routes import HEALTH


@endpoint(HEALTH)
def handler(request: ApiRequest) -> ApiResponse:
    return ApiResponse(200, Health())
