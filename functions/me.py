"""GET /me"""

from shop.entrypoints.composition import account_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import ME
from shop.entrypoints.settings import load_settings

accounts = account_service(load_settings())


@endpoint(ME)
def handler(request: ApiRequest) -> ApiResponse:
    return ApiResponse(200, accounts.profile(request.principal.user_id))
