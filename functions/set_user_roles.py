"""PUT /admin/users/{user_id}/roles"""

from shop.domain.models import SetRolesRequest
from shop.entrypoints.composition import role_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import SET_USER_ROLES
from shop.entrypoints.settings import load_settings

roles = role_service(load_settings().table_name)


@endpoint(SET_USER_ROLES)
def handler(request: ApiRequest) -> ApiResponse:
    return ApiResponse(200, roles.set_roles(request.path_parameter("user_id"), request.body_as(SetRolesRequest)))
