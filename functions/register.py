"""POST /auth/register"""

from shop.domain.models import RegisterRequest
from shop.entrypoints.composition import registration_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import REGISTER
from shop.entrypoints.settings import load_settings
from shop.observability import metrics

registrations = registration_service(load_settings())


@endpoint(REGISTER)
def handler(request: ApiRequest) -> ApiResponse:
    user = registrations.register(request.body_as(RegisterRequest), correlation_id=request.correlation_id)
    metrics.add_metric(name="UserRegistered", unit="Count", value=1)
    return ApiResponse(201, user, headers={"Location": "/me"})
