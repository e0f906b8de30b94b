"""GET /orders"""

from shop.composition import order_service
from shop.http import ApiRequest, ApiResponse, endpoint
from shop.models import ListOrdersQuery
from shop.routes import LIST_ORDERS
from shop.settings import load_settings

orders = order_service(load_settings())


@endpoint(LIST_ORDERS)
def handler(request: ApiRequest) -> ApiResponse:
    return ApiResponse(200, orders.list(request.principal.user_id, request.query_as(ListOrdersQuery)))
