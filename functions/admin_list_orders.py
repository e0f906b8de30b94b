"""GET /admin/orders"""

from shop.domain.models import AdminListOrdersQuery
from shop.entrypoints.composition import admin_order_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import ADMIN_LIST_ORDERS
from shop.entrypoints.settings import load_settings

orders = admin_order_service(load_settings())


@endpoint(ADMIN_LIST_ORDERS)
def handler(request: ApiRequest) -> ApiResponse:
    return ApiResponse(200, orders.list(request.principal.user_id, request.query_as(AdminListOrdersQuery)))
