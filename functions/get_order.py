"""GET /orders/{order_id}"""

from shop.composition import order_service
from shop.http import ApiRequest, ApiResponse, endpoint
from shop.models import OrderView
from shop.routes import GET_ORDER
from shop.settings import load_settings

orders = order_service(load_settings())


@endpoint(GET_ORDER)
def handler(request: ApiRequest) -> ApiResponse:
    order = orders.get(request.principal.user_id, request.path_parameter("order_id"))
    return ApiResponse(200, OrderView.of(order))
