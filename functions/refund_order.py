"""POST /orders/{order_id}/refunds"""

from shop.domain.models import CreateRefundRequest, RefundView
from shop.entrypoints.composition import refund_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import REFUND_ORDER
from shop.entrypoints.settings import load_settings

refunds = refund_service(load_settings())


@endpoint(REFUND_ORDER)
def handler(request: ApiRequest) -> ApiResponse:
    placement = refunds.request(
        request.principal,
        request.path_parameter("order_id"),
        request.body_as(CreateRefundRequest),
        idempotency_key=request.header("Idempotency-Key"),
        correlation_id=request.correlation_id,
    )
    headers = {"Idempotent-Replayed": "true"} if placement.replayed else {}
    return ApiResponse(201, RefundView.of(placement.refund), headers=headers)
