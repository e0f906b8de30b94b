"""GET /admin/orders/{order_id}"""

from shop.entrypoints.composition import admin_order_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import ADMIN_GET_ORDER
from shop.entrypoints.settings import load_settings

orders = admin_order_service(load_settings())


@endpoint(ADMIN_GET_ORDER)
def handler(request: ApiRequest) -> ApiResponse:
    return ApiResponse(200, orders.get(request.path_parameter("order_id")))
