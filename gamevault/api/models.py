"""Request and response models of the gateway: one model per use (`UserCreate`, `UserPublic`...)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from gamevault.domain.orders import MAX_ORDER_LINES
from gamevault.streams.contracts.catalog import Description, Genres, Stock
from gamevault.streams.contracts.common import Email, Money, Platform, Stars, Title, whole_number
from gamevault.streams.contracts.orders import OrderStatus
from gamevault.streams.contracts.partners import PartnerName

T = TypeVar("T")


class Strict(BaseModel):
    """Request bodies refuse unknown fields: no mass assignment (`role: admin`, `seller_id`...)."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


# ---- users -----------------------------------------------------------------------------------
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]


class UserCreate(Strict):
    email: Email
    password: Password
    display_name: DisplayName
    role: Literal["buyer", "seller"] = "buyer"


class ProfileUpdate(Strict):
    display_name: DisplayName


class PasswordChange(Strict):
    current_password: Password
    new_password: Password


class UserPublic(BaseModel):
    id: str
    display_name: str
    role: Literal["buyer", "seller", "admin"]
    registered_at: datetime


class UserPrivate(UserPublic):
    email: Email


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


def user_public(record: dict[str, Any]) -> UserPublic:
    return UserPublic(id=record["user_id"], display_name=record["display_name"], role=record["role"],
                      registered_at=record["registered_at"])


def user_private(record: dict[str, Any]) -> UserPrivate:
    return UserPrivate(**user_public(record).model_dump(), email=record["email"])


# ---- catalog ---------------------------------------------------------------------------------
class ProductCreate(Strict):
    title: Title
    description: Description = ""
    platform: Platform
    genres: Genres
    price: Money
    stock: Stock = 0


class ProductUpdate(Strict):
    listed: bool | None = Field(None, description="false delists the product (out of search, not orderable; its "
                                                  "page and past orders still read); true lists it again")
    title: Title | None = None
    description: Description | None = None
    platform: Platform | None = None
    genres: Genres | None = None
    price: Money | None = None
    stock: Stock | None = None


class Rating(BaseModel):
    average: float | None = Field(description="mean of approved reviews' stars, 2 decimals; null when none")
    count: int
    histogram: dict[str, int]


class ProductPublic(BaseModel):
    id: str
    seller_id: str
    title: str
    description: str
    platform: str
    genres: list[str]
    price: Money
    stock: int
    listed: bool = True
    rating: Rating
    created_at: datetime
    updated_at: datetime
    version: int


class ReviewPublic(BaseModel):
    id: str
    product_id: str
    author: UserPublic | None = None
    author_id: str
    rating: int
    title: str
    body: str
    status: str
    channel: str = Field("web", description="where it was written: web (a GameVault buyer) or a partner "
                                             "channel's name (then author_id is the channel's, never a buyer's)")
    helpful_count: int = 0
    unhelpful_count: int = 0
    created_at: datetime
    updated_at: datetime


class ProductPage(BaseModel):
    product: ProductPublic
    seller: UserPublic | None
    rating: Rating | None
    reviews: list[ReviewPublic]
    degraded: list[str]


SortOrder = Literal["relevance", "price_asc", "price_desc", "rating_desc", "newest"]
# a bound: any precision; documented as the number it is (pydantic would say "any string")
PriceParam = Annotated[Decimal, Field(ge=0, le=Decimal("9999999999.99")),
                       WithJsonSchema({"type": "number", "minimum": 0, "maximum": 9999999999.99})]


# ---- cart and orders -------------------------------------------------------------------------
Phone = Annotated[str, StringConstraints(pattern=r"^\d{9}$")]


Quantity = whole_number(1, 100)


class CartItemPut(Strict):
    quantity: Quantity


class CartLine(BaseModel):
    product_id: str
    quantity: int
    title: str | None
    unit_price: Money | None
    available: bool


class CartPublic(BaseModel):
    buyer_id: str
    items: list[CartLine]
    total: Money | None = Field(description="null when the cart holds products in more than one currency "
                                            "(an order must be in one: order them apart)")
    totals: list[Money] = Field(default_factory=list, description="one total per currency")


class PayPalPayment(Strict):
    provider: Literal["paypal"]
    payer_email: Email


class YapePayment(Strict):
    provider: Literal["yape"]
    phone: Phone = Field(description="9-digit Peruvian mobile number")
    approval_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] = Field(
        description="the 6-digit code the Yape app shows")


class PlinPayment(Strict):
    provider: Literal["plin"]
    phone: Phone = Field(description="9-digit Peruvian mobile number; the buyer confirms in the wallet app")


PaymentRequest = Annotated[PayPalPayment | YapePayment | PlinPayment, Field(discriminator="provider")]


class ShippingAddress(Strict):
    recipient: Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
    line1: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    line2: Annotated[str, StringConstraints(max_length=200)] | None = None
    city: Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
    region: Annotated[str, StringConstraints(max_length=100)] | None = None
    postal_code: Annotated[str, StringConstraints(pattern=r"^\d{5}$")] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "PE"
    phone: Phone | None = None


class OrderLineIn(Strict):
    product_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    quantity: Quantity


class OrderCreate(Strict):
    items: Annotated[list[OrderLineIn], Field(min_length=1, max_length=MAX_ORDER_LINES)] | None = None
    payment: PaymentRequest
    shipping_address: ShippingAddress


class TimelineEntry(BaseModel):
    status: str
    at: datetime
    reason: str | None = None




class OrderPublic(BaseModel):
    id: str
    buyer_id: str
    status: OrderStatus
    cancel_reason: str | None
    items: list[dict[str, Any]]
    total: Money
    payment: dict[str, Any]
    shipment: dict[str, Any]
    shipping_address: dict[str, Any]
    created_at: datetime
    updated_at: datetime


# ---- reviews ---------------------------------------------------------------------------------
from gamevault.streams.contracts.reviews import ReviewBody, ReviewTitle  # noqa: E402


class ReviewCreate(Strict):
    rating: Stars
    title: ReviewTitle
    body: ReviewBody


class ReviewUpdate(Strict):
    rating: Stars | None = None
    title: ReviewTitle | None = None
    body: ReviewBody | None = None


class ModerationDecision(Strict):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class CommentCreate(Strict):
    body: Annotated[str, StringConstraints(min_length=2, max_length=2000, strip_whitespace=True)]


class VoteCast(Strict):
    helpful: bool


class CommentPublic(BaseModel):
    id: str
    review_id: str
    author_id: str
    body: str
    status: str
    reason: str | None = None
    created_at: datetime
    updated_at: datetime


class VoteCounted(BaseModel):
    review_id: str
    helpful: bool
    helpful_count: int
    unhelpful_count: int


class ReviewAccepted(BaseModel):
    id: str
    status: Literal["pending", "approved", "rejected"]
    reason: str | None = None


# ---- seller integrations (Kafka partners) -----------------------------------------------------
class IntegrationCreate(Strict):
    name: PartnerName = Field(description="unique across GameVault: 3-32 of a-z, 0-9 and '-'")


class Integration(BaseModel):
    name: str
    kind: str
    seller_id: str | None = None
    topics: list[str]
    created_at: datetime | None = None


class IntegrationCreated(Integration):
    kafka: dict[str, Any] = Field(description="kafka-python KafkaProducer keyword arguments with this "
                                              "integration's credentials: shown once, never again")
