"""POST /auth/login"""

from shop.domain.models import LoginRequest
from shop.entrypoints.composition import login_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import LOGIN
from shop.entrypoints.settings import load_settings
from shop.errors import Throttled, Unauthenticated
from shop.observability import metrics

logins = login_service(load_settings())


@endpoint(LOGIN)
def handler(request: ApiRequest) -> ApiResponse:
    try:
        token = logins.login(request.body_as(LoginRequest), source=request.source_ip)
    except Unauthenticated:
        metrics.add_metric(name="LoginFailed", unit="Count", value=1)
        raise
    except Throttled:
        metrics.add_metric(name="LoginThrottled", unit="Count", value=1)
        raise
    return ApiResponse(200, token)
