"""POST /auth/register"""

from shop.composition import account_service
from shop.http import ApiRequest, ApiResponse, endpoint
from shop.models import RegisterRequest
from shop.observability import metrics
from shop.routes import REGISTER
from shop.settings import load_settings

accounts = account_service(load_settings())


@endpoint(REGISTER)
def handler(request: ApiRequest) -> ApiResponse:
    user = accounts.register(request.body_as(RegisterRequest))
    metrics.add_metric(name="UserRegistered", unit="Count", value=1)
    return ApiResponse(201, user, headers={"Location": "/me"})
