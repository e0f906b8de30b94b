"""GET /products/{sku}"""

from shop.entrypoints.composition import catalog_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import GET_PRODUCT
from shop.entrypoints.settings import load_settings
from shop.service_layer.catalog import etag

catalog = catalog_service(load_settings())


@endpoint(GET_PRODUCT)
def handler(request: ApiRequest) -> ApiResponse:
    product = catalog.get(request.path_parameter("sku"))
    return ApiResponse(200, product, headers={"ETag": etag(product)})
