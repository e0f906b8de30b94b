"""POST /orders"""

from shop.domain.models import CreateOrderRequest, OrderView
from shop.entrypoints.composition import order_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import CREATE_ORDER
from shop.entrypoints.settings import load_settings

orders = order_service(load_settings())


@endpoint(CREATE_ORDER)
def handler(request: ApiRequest) -> ApiResponse:
    placement = orders.place(
        request.principal.user_id,
        request.body_as(CreateOrderRequest),
        idempotency_key=request.header("Idempotency-Key"),
        correlation_id=request.correlation_id,
    )
    headers = {"Location": f"/orders/{placement.order.id}"}
    if placement.replayed:
        headers["Idempotent-Replayed"] = "true"
    return ApiResponse(201, OrderView.of(placement.order), headers=headers)
