"""CR events, and the ingress command partner channels send.

Reviews events are keyed by product id: a product's review thread is CR's aggregate (it enforces
one review per buyer and product), and that key gives the rating stream table per-product order
without a repartition hop. The review id is the CloudEvent `subject`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from gamevault.streams.contracts.common import Contract, Id, Stars
from gamevault.streams.registry import event
from gamevault.streams.topics import REVIEWS_EVENTS, REVIEWS_INGRESS

ReviewTitle = Annotated[str, StringConstraints(min_length=3, max_length=120, strip_whitespace=True)]
ReviewBody = Annotated[str, StringConstraints(min_length=10, max_length=4000, strip_whitespace=True)]
ReviewStatus = Literal["pending", "approved", "rejected", "retracted"]


class _Review(Contract):
    review_id: Id
    product_id: Id
    buyer_id: Id
    review_version: int = Field(ge=1, description="grows with every change of the review: consumers ignore "
                                                  "anything not newer than what they applied")
    at: datetime


@event("gamevault.reviews.review.submitted", topic=REVIEWS_EVENTS, key="product_id",
       summary="A verified buyer submitted (or edited) a review; it awaits moderation")
class ReviewSubmitted(_Review):
    rating: Stars
    title: ReviewTitle
    body: ReviewBody
    channel: str
    edit: bool = False


@event("gamevault.reviews.review.approved", topic=REVIEWS_EVENTS, key="product_id",
       summary="A review (or its edit) was approved and counts in the product's rating")
class ReviewApproved(_Review):
    rating: Stars
    moderator: str


@event("gamevault.reviews.review.rejected", topic=REVIEWS_EVENTS, key="product_id",
       summary="A review (or its edit) was rejected, by the automatic rules or an admin")
class ReviewRejected(_Review):
    reason: str
    moderator: str


@event("gamevault.reviews.review.retracted", topic=REVIEWS_EVENTS, key="product_id",
       summary="The buyer withdrew the review; it no longer counts")
class ReviewRetracted(_Review):
    pass


# ---- comments on reviews and helpful votes ------------------------------------------------------
CommentBody = Annotated[str, StringConstraints(min_length=2, max_length=2000, strip_whitespace=True)]


class _Comment(Contract):
    comment_id: Id
    review_id: Id
    product_id: Id
    author_id: Id
    review_author_id: str = Field(description="who wrote the review: the one this event tells of the comment")
    at: datetime


@event("gamevault.reviews.comment.submitted", topic=REVIEWS_EVENTS, key="product_id",
       summary="A signed-in user commented on a review; it awaits moderation")
class CommentSubmitted(_Comment):
    body: CommentBody


@event("gamevault.reviews.comment.approved", topic=REVIEWS_EVENTS, key="product_id",
       summary="A comment was approved and shows under its review (its author is told by this event)")
class CommentApproved(_Comment):
    moderator: str


@event("gamevault.reviews.comment.rejected", topic=REVIEWS_EVENTS, key="product_id",
       summary="A comment was rejected, by the automatic rules or an admin")
class CommentRejected(_Comment):
    reason: str
    moderator: str


@event("gamevault.reviews.review.voted", topic=REVIEWS_EVENTS, key="product_id",
       summary="A user found a review helpful (or not), or changed that vote; the counts after it")
class ReviewVoted(Contract):
    review_id: Id
    product_id: Id
    voter_id: Id
    helpful: bool
    helpful_count: int = Field(ge=0)
    unhelpful_count: int = Field(ge=0)
    at: datetime


# ---- ingress: the operator's path and partner channels -------------------------------------
ExternalRef = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]


@event("gamevault.reviews.review.submit", topic=REVIEWS_INGRESS, key="product_id",
       summary="A review collected outside GameVault. On a partner's own topic it is the channel's: the "
               "platform chooses the review id and attributes it to the channel (review_id and buyer_id "
               "are refused there); on gamevault.reviews.commands (the operator's path) it names both")
class SubmitReview(Contract):
    product_id: Id
    rating: Stars
    title: ReviewTitle
    body: ReviewBody
    external_id: ExternalRef | None = Field(
        None, description="the channel's own id of this review: delivering it again is idempotent")
    review_id: Id | None = Field(None, description="operator's path only")
    buyer_id: Id | None = Field(None, description="operator's path only: the GameVault buyer who wrote it")
    channel: str = "partner"
