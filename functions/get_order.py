"""GET /orders/{order_id}"""

from shop.domain.models import OrderView
from shop.entrypoints.composition import order_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import GET_ORDER
from shop.entrypoints.settings import load_settings

orders = order_service(load_settings())


@endpoint(GET_ORDER)
def handler(request: ApiRequest) -> ApiResponse:
    order = orders.get(request.principal.user_id, request.path_parameter("order_id"))
    return ApiResponse(200, OrderView.of(order))
