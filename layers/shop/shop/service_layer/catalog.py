"""The catalog: products, their versions (ETags) and their stock.

Listing with `q` reads the sku index first (every active product whose sku starts with `q`), then
the name index (those whose name starts with `q`, skipping the ones the sku part already listed),
so a page never holds one product twice. The cursor says which index the next page reads.
"""

from __future__ import annotations

import re

from shop.domain.clock import Clock, isoformat
from shop.domain.models import (
    CreateProductRequest,
    ListProductsQuery,
    Product,
    ProductPage,
    ProductView,
    UpdateProductRequest,
    search_key,
)
from shop.errors import MalformedRequest, NotFound, PreconditionFailed, PreconditionRequired
from shop.service_layer.cursors import CursorCodec
from shop.service_layer.ports import CatalogIndex, DynamoKey, ProductChanges, ProductRepository

# Catalog cursors belong to no user: they are bound to this name and to the query instead.
_CURSOR_OWNER = "catalog"
_PHASE = "_index"
_STRONG_ETAG = re.compile(r'^"(\d{1,18})"$')


def etag(product: Product) -> str:
    """A strong ETag of the product's version; stock is live and moves without a new version."""
    return f'"{product.version}"'


def expected_version(if_match: str | None) -> int:
    """The version an If-Match header names; 428 without one, 412 when it names none of ours."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired("send If-Match with the product's ETag (from GET /products/{sku})")
    tags = [tag.strip() for tag in if_match.split(",")]
    if tags == ["*"]:
        raise PreconditionRequired("If-Match: * would overwrite blindly; send the product's ETag")
    versions = {int(match.group(1)) for tag in tags if (match := _STRONG_ETAG.match(tag))}
    if len(versions) != 1:
        raise PreconditionFailed("If-Match must name exactly one ETag of this product")
    return versions.pop()


class CatalogService:
    """Reads and changes the catalog; who may change it is the route's action (`product:write`)."""

    def __init__(self, products: ProductRepository, cursors: CursorCodec, clock: Clock) -> None:
        self._products = products
        self._cursors = cursors
        self._clock = clock

    def create(self, request: CreateProductRequest) -> ProductView:
        stamp = isoformat(self._clock.now())
        product = Product(**request.model_dump(exclude={"stock"}), version=1, created_at=stamp, updated_at=stamp)
        self._products.add(product, request.stock)
        return ProductView(**product.model_dump(), stock=request.stock)

    def get(self, sku: str) -> ProductView:
        product = self._products.get(sku)
        if product is None:
            raise NotFound(f"product {sku} was not found")
        return product

    def update(self, sku: str, if_match: str | None, request: UpdateProductRequest) -> ProductView:
        version = expected_version(if_match)
        fields = request.model_dump(exclude={"stock_delta"}, exclude_none=True)
        changes = ProductChanges(fields=fields, stock_delta=request.stock_delta)
        return self._products.update(sku, version, changes, self._clock.now())

    def list(self, query: ListProductsQuery) -> ProductPage:
        prefix = None if query.q is None else search_key(query.q)
        scope = f"products\n{prefix or ''}"
        index, after = ("sku", None) if query.cursor is None else self._position(query.cursor, scope)
        found: list[Product] = []
        cursor: str | None = None
        while True:
            page = self._products.page(index, prefix, query.limit - len(found), after)
            found += [product for product in page.products if index == "sku" or not _sku_matches(product, prefix)]
            if page.last_key is not None:
                cursor = self._cursor(index, page.last_key, scope)
                break
            if index == "name" or prefix is None:
                break
            index, after = "name", None
            if len(found) >= query.limit:
                cursor = self._cursor(index, {}, scope)
                break
        stock = self._products.stock_of([product.sku for product in found]) if found else {}
        items = [ProductView(**product.model_dump(), stock=stock[product.sku]) for product in found]
        return ProductPage(items=items, next_cursor=cursor)

    def _cursor(self, index: CatalogIndex, last_key: DynamoKey, scope: str) -> str:
        return self._cursors.encode({**last_key, _PHASE: {"S": index}}, owner=_CURSOR_OWNER, scope=scope)

    def _position(self, cursor: str, scope: str) -> tuple[CatalogIndex, DynamoKey | None]:
        key = self._cursors.decode(cursor, owner=_CURSOR_OWNER, scope=scope)
        phase = key.pop(_PHASE, {}).get("S")
        if phase == "sku":
            return "sku", key or None
        if phase == "name":
            return "name", key or None
        raise MalformedRequest("the cursor is not valid for this query")


def _sku_matches(product: Product, prefix: str | None) -> bool:
    return prefix is not None and search_key(product.sku).startswith(prefix)
