"""POST /admin/orders/{order_id}/resolve"""

from shop.domain.models import ResolveOrderRequest
from shop.entrypoints.composition import admin_order_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import RESOLVE_ORDER
from shop.entrypoints.settings import load_settings

orders = admin_order_service(load_settings())


@endpoint(RESOLVE_ORDER)
def handler(request: ApiRequest) -> ApiResponse:
    resolved = orders.resolve(
        request.principal.user_id,
        request.path_parameter("order_id"),
        request.body_as(ResolveOrderRequest),
        correlation_id=request.correlation_id,
    )
    return ApiResponse(200, resolved)
