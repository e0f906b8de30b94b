"""The catalog service with an in-memory store: versions, If-Match, stock deltas, listing with q."""

from __future__ import annotations

import pytest

from shop.adapters.signing_keys import StaticSigningKey
from shop.domain.models import CreateProductRequest, ListProductsQuery, UpdateProductRequest
from shop.errors import Conflict, MalformedRequest, NotFound, PreconditionFailed, PreconditionRequired
from shop.service_layer.catalog import CatalogService, etag, expected_version
from shop.service_layer.cursors import CursorCodec
from tests.unit.fakes import FixedClock
from tests.unit.fakes_catalog import InMemoryProducts


@pytest.fixture
def products() -> InMemoryProducts:
    return InMemoryProducts()


@pytest.fixture
def catalog(products: InMemoryProducts) -> CatalogService:
    return CatalogService(products, CursorCodec(StaticSigningKey(b"k" * 32)), FixedClock())


def new_product(sku: str = "BOOK-1", name: str = "Book", stock: int = 5, **extra: object) -> CreateProductRequest:
    return CreateProductRequest.model_validate(
        {"sku": sku, "name": name, "price": 1250, "currency": "EUR", "stock": stock, **extra}
    )


def test_a_new_product_starts_at_version_1_with_its_stock(catalog: CatalogService) -> None:
    product = catalog.create(new_product(stock=7))

    assert product.version == 1 and product.stock == 7 and product.active
    assert etag(product) == '"1"'
    assert catalog.get("BOOK-1") == product


def test_creating_an_existing_sku_is_a_conflict_and_keeps_the_first(catalog: CatalogService) -> None:
    catalog.create(new_product(name="First"))

    with pytest.raises(Conflict):
        catalog.create(new_product(name="Second"))

    assert catalog.get("BOOK-1").name == "First"


def test_an_unknown_sku_is_not_found(catalog: CatalogService) -> None:
    with pytest.raises(NotFound):
        catalog.get("NOPE")


def test_a_patch_with_the_current_etag_changes_the_product_and_its_version(catalog: CatalogService) -> None:
    catalog.create(new_product())

    updated = catalog.update("BOOK-1", '"1"', UpdateProductRequest(price=1400))

    assert updated.price == 1400 and updated.version == 2 and etag(updated) == '"2"'


def test_a_patch_with_a_stale_etag_is_412_and_changes_nothing(catalog: CatalogService) -> None:
    catalog.create(new_product())
    catalog.update("BOOK-1", '"1"', UpdateProductRequest(price=1400))

    with pytest.raises(PreconditionFailed):
        catalog.update("BOOK-1", '"1"', UpdateProductRequest(price=1))

    assert catalog.get("BOOK-1").price == 1400


@pytest.mark.parametrize("header", [None, "", "  ", "*"])
def test_a_patch_without_an_etag_is_428(header: str | None) -> None:
    with pytest.raises(PreconditionRequired):
        expected_version(header)


@pytest.mark.parametrize("header", ['W/"1"', "1", '"1", "2"', '"x"'])
def test_an_if_match_naming_no_single_strong_etag_is_412(header: str) -> None:
    with pytest.raises(PreconditionFailed):
        expected_version(header)


def test_stock_moves_by_deltas_and_never_below_zero(catalog: CatalogService) -> None:
    catalog.create(new_product(stock=5))

    after_restock = catalog.update("BOOK-1", '"1"', UpdateProductRequest(stock_delta=3))
    with pytest.raises(Conflict):
        catalog.update("BOOK-1", '"2"', UpdateProductRequest(stock_delta=-9))
    after_shrinkage = catalog.update("BOOK-1", '"2"', UpdateProductRequest(stock_delta=-8))

    assert after_restock.stock == 8
    assert after_shrinkage.stock == 0


def test_a_patch_that_changes_nothing_is_refused_at_validation() -> None:
    with pytest.raises(ValueError, match="at least one field"):
        UpdateProductRequest.model_validate({})


def test_a_deactivated_product_leaves_the_listing_but_stays_readable(catalog: CatalogService) -> None:
    catalog.create(new_product("BOOK-1"))
    catalog.create(new_product("BOOK-2"))

    catalog.update("BOOK-1", '"1"', UpdateProductRequest(active=False))

    assert [p.sku for p in catalog.list(ListProductsQuery()).items] == ["BOOK-2"]
    assert catalog.get("BOOK-1").active is False


def test_q_lists_sku_matches_first_then_name_matches_once_each(catalog: CatalogService) -> None:
    # Given skus and names that match "pen" in different ways
    catalog.create(new_product("PEN-2", name="Ballpoint"))
    catalog.create(new_product("PEN-1", name="Pencil"))
    catalog.create(new_product("INK-1", name="Pen ink"))
    catalog.create(new_product("BOOK-1", name="Penguins"))
    catalog.create(new_product("CUP-1", name="Cup"))

    # When listing with q in pages of two
    skus: list[str] = []
    cursor = None
    while True:
        page = catalog.list(ListProductsQuery(q="pen", limit=2, cursor=cursor))
        skus += [product.sku for product in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break

    # Then the sku matches come first, by sku; then the name-only matches, by name; none twice
    assert skus == ["PEN-1", "PEN-2", "INK-1", "BOOK-1"]


def test_the_listing_without_q_pages_through_every_active_product(catalog: CatalogService) -> None:
    for number in range(5):
        catalog.create(new_product(f"SKU-{number}", stock=number))

    first = catalog.list(ListProductsQuery(limit=3))
    second = catalog.list(ListProductsQuery(limit=3, cursor=first.next_cursor))

    assert [p.sku for p in first.items] == ["SKU-0", "SKU-1", "SKU-2"]
    assert [(p.sku, p.stock) for p in second.items] == [("SKU-3", 3), ("SKU-4", 4)]
    assert second.next_cursor is None


def test_a_cursor_of_one_q_is_refused_for_another(catalog: CatalogService) -> None:
    for number in range(3):
        catalog.create(new_product(f"PEN-{number}"))
    cursor = catalog.list(ListProductsQuery(q="pen", limit=1)).next_cursor

    with pytest.raises(MalformedRequest):
        catalog.list(ListProductsQuery(q="p", limit=1, cursor=cursor))
