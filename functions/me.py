"""GET /me"""

from shop.composition import account_service
from shop.http import ApiRequest, ApiResponse, endpoint
from shop.routes import ME
from shop.settings import load_settings

accounts = account_service(load_settings())


@endpoint(ME)
def handler(request: ApiRequest) -> ApiResponse:
    return ApiResponse(200, accounts.profile(request.principal.user_id))
