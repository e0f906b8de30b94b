"""POST /auth/login"""

from shop.composition import login_service
from shop.errors import Throttled, Unauthenticated
from shop.http import ApiRequest, ApiResponse, endpoint
from shop.models import LoginRequest
from shop.observability import metrics
from shop.routes import LOGIN
from shop.settings import load_settings

logins = login_service(load_settings())


@endpoint(LOGIN)
def handler(request: ApiRequest) -> ApiResponse:
    try:
        token = logins.login(request.body_as(LoginRequest))
    except Unauthenticated:
        metrics.add_metric(name="LoginFailed", unit="Count", value=1)
        raise
    except Throttled:
        metrics.add_metric(name="LoginThrottled", unit="Count", value=1)
        raise
    return ApiResponse(200, token)
