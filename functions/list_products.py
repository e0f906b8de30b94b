"""GET /products"""

from shop.domain.models import ListProductsQuery
from shop.entrypoints.composition import catalog_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import LIST_PRODUCTS
from shop.entrypoints.settings import load_settings

catalog = catalog_service(load_settings())


@endpoint(LIST_PRODUCTS)
def handler(request: ApiRequest) -> ApiResponse:
    return ApiResponse(200, catalog.list(request.query_as(ListProductsQuery)))
