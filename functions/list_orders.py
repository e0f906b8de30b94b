"""GET /orders"""

from shop.domain.models import ListOrdersQuery
from shop.entrypoints.composition import order_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import LIST_ORDERS
from shop.entrypoints.settings import load_settings

orders = order_service(load_settings())


@endpoint(LIST_ORDERS)
def handler(request: ApiRequest) -> ApiResponse:
    return ApiResponse(200, orders.list(request.principal.user_id, request.query_as(ListOrdersQuery)))
