"""POST /auth/register"""

from shop.composition import registration_service
from shop.http import ApiRequest, ApiResponse, endpoint
from shop.models import RegisterRequest
from shop.observability import metrics
from shop.routes import REGISTER
from shop.settings import load_settings

registrations = registration_service(load_settings())


@endpoint(REGISTER)
def handler(request: ApiRequest) -> ApiResponse:
    user = registrations.register(request.body_as(RegisterRequest), correlation_id=request.correlation_id)
    metrics.add_metric(name="UserRegistered", unit="Count", value=1)
    return ApiResponse(201, user, headers={"Location": "/me"})
