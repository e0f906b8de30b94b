"""POST /products"""

from shop.domain.models import CreateProductRequest
from shop.entrypoints.composition import catalog_service
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import CREATE_PRODUCT
from shop.entrypoints.settings import load_settings
from shop.service_layer.catalog import etag

catalog = catalog_service(load_settings())


@endpoint(CREATE_PRODUCT)
def handler(request: ApiRequest) -> ApiResponse:
    product = catalog.create(request.body_as(CreateProductRequest))
    return ApiResponse(201, product, headers={"Location": f"/products/{product.sku}", "ETag": etag(product)})
