"""CP routes: list and change products, search, product reads and the composed product page."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Response

from gamevault.api.commands import execute
from gamevault.api.deps import CurrentUser, Seller, Services
from gamevault.api.documents import rating_doc, review_doc, user_public_doc
from gamevault.api.models import Page, PriceParam, ProductCreate, ProductPage, ProductPublic, ProductUpdate, SortOrder
from gamevault.api.problems import Problem
from gamevault.api.services import ApiServices
from gamevault.domain.catalog import may_edit
from gamevault.domain.identity import UsersUnavailable
from gamevault.streams.contracts.commands import CREATE_PRODUCT, UPDATE_PRODUCT
from gamevault.streams.contracts.common import Currency
from gamevault.streams.envelope import deterministic_id
from gamevault.tables.cursors import BadCursor
from gamevault.tables.search import Query as SearchQuery

router = APIRouter(prefix="/products", tags=["catalog"])
MAX_PAGE = 100
PART_TIMEOUT_S = 0.5
JSON = "application/json"


async def load_product(services: ApiServices, pid: str) -> dict[str, Any]:
    """The product, catching up with the changelog before calling it missing."""
    state = await services.replicas.fresh(lambda: services.views.products.get(pid))
    if state is None:
        raise Problem(404, f"no product {pid}")
    return state


@router.post("", status_code=201, response_model=ProductPublic, summary="List a new product (sellers)",
             responses={200: {"model": ProductPublic, "description": "the same Idempotency-Key again: that product"},
                        403: {"description": "not a seller"}})
async def create_product(
    body: ProductCreate, seller: Seller, services: Services, response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> Response:
    if idempotency_key:
        pid = deterministic_id("product", seller.user_id, idempotency_key)
        existing = services.views.products.get(pid)
        if existing is not None:
            return Response(services.documents.json(pid), status_code=200, media_type=JSON)
    else:
        pid = str(uuid.uuid4())
    data = {"product_id": pid, "seller_id": seller.user_id, **body.model_dump(mode="json")}
    command_id = deterministic_id("create-product", pid) if idempotency_key else None
    state = await execute(services, CREATE_PRODUCT, pid, data, command_id=command_id)
    services.views.products.apply(pid, state)
    return Response(services.documents.json(pid), status_code=201, media_type=JSON,
                    headers={"Location": f"/api/v1/products/{pid}"})


@router.patch("/{product_id}", response_model=ProductPublic,
              summary="Change a product (its seller or an admin)",
              responses={403: {"description": "another seller's product"}, 404: {"description": "no such product"}})
async def update_product(product_id: str, body: ProductUpdate, user: CurrentUser, services: Services) -> Response:
    product = await load_product(services, product_id)
    if not may_edit(product, user.user_id, user.role):
        raise Problem(403, "only the seller who owns this product (or an admin) may change it")
    # whole values of the fields the caller sent; a price sent without its currency keeps the product's
    changes = {k: v for k, v in body.model_dump(mode="json").items() if k in body.model_fields_set and v is not None}
    if body.price is not None and "currency" not in body.price.model_fields_set:
        changes["price"] = {**changes["price"], "currency": product["price"]["currency"]}
    data = {"product_id": product_id, "actor_id": user.user_id, "actor_role": user.role, "changes": changes}
    state = await execute(services, UPDATE_PRODUCT, product_id, data)
    services.views.products.apply(product_id, state)
    return Response(services.documents.json(product_id), media_type=JSON)


@router.get("", response_model=Page[ProductPublic], summary="Search the catalog")
async def search(
    services: Services,
    q: Annotated[str | None, Query(max_length=200)] = None,
    platform: Annotated[str | None, Query(max_length=32)] = None,
    genre: Annotated[str | None, Query(max_length=32)] = None,
    min_price: Annotated[PriceParam | None, Query(description="in `currency`")] = None,
    max_price: Annotated[PriceParam | None, Query(description="in `currency`")] = None,
    min_rating: Annotated[float | None, Query(ge=0, le=5)] = None,
    currency: Annotated[Currency, Query(description="the currency of min_price/max_price: a price filter leaves "
                                                    "out products priced in another currency")] = "PEN",
    sort: Annotated[SortOrder, Query(description="price_asc/price_desc group products by currency (PEN, then "
                                                 "USD; reversed for price_desc), then order by amount: amounts in "
                                                 "two currencies are never compared")] = "relevance",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    query = SearchQuery(q, platform, genre, min_price, max_price, min_rating, currency, sort, limit, cursor)
    try:
        page = services.views.catalog.search(query)
    except BadCursor as exc:
        raise Problem(400, str(exc), slug="bad-cursor") from None
    docs = services.documents
    body = b'{"items":[' + b",".join(docs.json(pid) for pid in page.ids) + b'],"next_cursor":'
    body += orjson.dumps(page.next_cursor) + b"}"
    return Response(body, media_type=JSON)


@router.get("/{product_id}", response_model=ProductPublic, summary="A product with its rating and stock",
            responses={404: {"description": "no such product"}})
async def get_product(product_id: str, services: Services) -> Response:
    body = services.documents.json(product_id)
    if body is None:
        await load_product(services, product_id)
        body = services.documents.json(product_id)
    return Response(body, media_type=JSON)


@router.get("/{product_id}/page", response_model=ProductPage,
            summary="The product page: CP product + GU seller + CR reviews and rating, composed in parallel",
            responses={404: {"description": "no such product"}})
async def product_page(product_id: str, services: Services) -> Response:
    product = await load_product(services, product_id)
    chaos = services.settings.chaos

    async def seller() -> dict[str, Any] | None:
        identity = await services.users.get(product["seller_id"])
        return user_public_doc(services.views.users.get(identity.email)) if identity else None

    async def rating() -> dict[str, Any]:
        if "rating" in chaos:
            raise RuntimeError("rating unavailable (chaos switch)")
        return rating_doc(services.views.ratings.get(product_id))

    async def reviews() -> list[dict[str, Any]]:
        if "reviews" in chaos:
            await asyncio.sleep(PART_TIMEOUT_S * 4)
        approved, _ = services.views.approved_reviews.page(product_id, 10, None, services.views.reviews.get)
        out = []
        for r in approved:
            author = services.views.user_by_id(r["buyer_id"])
            out.append(review_doc(r, author))
        return out

    parts = {"seller": seller, "rating": rating, "reviews": reviews}
    results = await asyncio.gather(
        *(asyncio.wait_for(fn(), PART_TIMEOUT_S) for fn in parts.values()), return_exceptions=True
    )
    degraded = [name for name, res in zip(parts, results, strict=True)
                if isinstance(res, (Exception, UsersUnavailable))]
    values = {name: (None if isinstance(res, BaseException) else res)
              for name, res in zip(parts, results, strict=True)}
    doc = {
        "product": services.documents.doc(product_id),
        "seller": values["seller"],
        "rating": values["rating"],
        "reviews": values["reviews"] or [],
        "degraded": degraded,
    }
    return Response(orjson.dumps(doc), media_type=JSON)
