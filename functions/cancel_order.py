"""POST /orders/{order_id}/cancel"""

from shop.domain.models import OrderView
from shop.entrypoints.composition import cancellation_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import CANCEL_ORDER
from shop.entrypoints.settings import load_settings

cancellations = cancellation_service(load_settings())


@endpoint(CANCEL_ORDER)
def handler(request: ApiRequest) -> ApiResponse:
    order = cancellations.cancel(
        request.principal, request.path_parameter("order_id"), correlation_id=request.correlation_id
    )
    return ApiResponse(200, OrderView.of(order))
