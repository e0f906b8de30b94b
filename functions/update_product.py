"""PATCH /products/{sku}"""

from shop.domain.models import UpdateProductRequest
from shop.entrypoints.composition import catalog_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import UPDATE_PRODUCT
from shop.entrypoints.settings import load_settings
from shop.service_layer.catalog import etag

catalog = catalog_service(load_settings())


@endpoint(UPDATE_PRODUCT)
def handler(request: ApiRequest) -> ApiResponse:
    product = catalog.update(
        request.path_parameter("sku"), request.header("If-Match"), request.body_as(UpdateProductRequest)
    )
    return ApiResponse(200, product, headers={"ETag": etag(product)})
