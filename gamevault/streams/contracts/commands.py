"""Every internal command and saga reply, declared once: its type and the module topic that carries it.

Routes send them (request/reply through the bus), agents handle them, the order saga's dispatch table
is derived from `SAGA_REPLIES`. Internal topics are written by the platform alone, so their payloads
are the platform's own dicts; what outside producers may send is validated at ingress instead (the
`@event` contracts on the ingress topics, whose types are forwarded here unchanged).
"""

from __future__ import annotations

from gamevault.streams.registry import CommandType, command
from gamevault.streams.topics import (
    CATALOG_COMMANDS,
    LOGISTICS_COMMANDS,
    ORDERS_COMMANDS,
    PAYMENTS_COMMANDS,
    REVIEWS_COMMANDS,
    USERS_COMMANDS,
)

# ---- GU: keyed by the account's email -----------------------------------------------------
REGISTER = command("gamevault.users.register", topic=USERS_COMMANDS, summary="open an account")
REVOKE_TOKENS = command("gamevault.users.revoke_tokens", topic=USERS_COMMANDS,
                        summary="log out everywhere: bump the token version")
CHANGE_PASSWORD = command("gamevault.users.change_password", topic=USERS_COMMANDS,
                          summary="set a new password hash (and revoke tokens)")
UPDATE_PROFILE = command("gamevault.users.update_profile", topic=USERS_COMMANDS, summary="change the profile")

# ---- CP: keyed by product id ----------------------------------------------------------------
CREATE_PRODUCT = command("gamevault.catalog.product.create", topic=CATALOG_COMMANDS,
                         summary="a seller lists a product (REST)")
UPDATE_PRODUCT = command("gamevault.catalog.product.update", topic=CATALOG_COMMANDS,
                         summary="a seller changes a listing (REST)")
UPSERT_PRODUCT = command("gamevault.catalog.product.upsert", topic=CATALOG_COMMANDS,
                         summary="an admitted ingress upsert, forwarded as is")
SET_STOCK = command("gamevault.catalog.stock.set", topic=CATALOG_COMMANDS,
                    summary="an admitted ingress stock level, forwarded as is")
RESERVE_STOCK = command("gamevault.catalog.stock.reserve", topic=CATALOG_COMMANDS,
                        summary="saga: hold an order line's stock")
RELEASE_STOCK = command("gamevault.catalog.stock.release", topic=CATALOG_COMMANDS,
                        summary="saga compensation: hand an order line's stock back")
COMMIT_STOCK = command("gamevault.catalog.stock.commit", topic=CATALOG_COMMANDS,
                       summary="saga: the sale is final, drop the hold")

# ---- CCP: carts keyed by buyer id, orders by order id -------------------------------------------
SET_CART_ITEM = command("gamevault.orders.cart.set_item", topic=ORDERS_COMMANDS, summary="put a product in a cart")
REMOVE_CART_ITEM = command("gamevault.orders.cart.remove_item", topic=ORDERS_COMMANDS,
                           summary="take a product out of a cart")
REMOVE_ORDERED = command("gamevault.orders.cart.remove_ordered", topic=ORDERS_COMMANDS,
                         summary="take an order's lines out of the cart it came from")
PLACE_ORDER = command("gamevault.orders.place", topic=ORDERS_COMMANDS, summary="place an order: its saga starts")
CANCEL_ORDER = command("gamevault.orders.cancel", topic=ORDERS_COMMANDS,
                       summary="a buyer's or an admin's cancel, until the shipment exists")


def _saga(kind: str, summary: str) -> CommandType:
    return command(f"gamevault.orders.saga.{kind}", topic=ORDERS_COMMANDS, summary=summary)


STOCK_RESERVED = _saga("stock_reserved", "CP held a line's stock")
STOCK_REJECTED = _saga("stock_rejected", "CP could not hold a line's stock")
PAYMENT_STARTED = _saga("payment_started", "SP started the payment with its gateway")
PAYMENT_CAPTURED = _saga("payment_captured", "SP's gateway confirmed the payment")
PAYMENT_FAILED = _saga("payment_failed", "SP's payment was declined or could not start")
PAYMENT_REFUNDED = _saga("payment_refunded", "SP refunded (or had nothing to refund)")
SHIPMENT_CREATED = _saga("shipment_created", "LE's carrier accepted the shipment")
SHIPMENT_DELIVERED = _saga("shipment_delivered", "LE's carrier delivered")
SHIPMENT_FAILED = _saga("shipment_failed", "LE's carrier refused or lost the shipment")
DEADLINE = _saga("deadline", "the saga timer: a step ran out of time")
SAGA_REPLIES = (STOCK_RESERVED, STOCK_REJECTED, PAYMENT_STARTED, PAYMENT_CAPTURED, PAYMENT_FAILED, PAYMENT_REFUNDED,
                SHIPMENT_CREATED, SHIPMENT_DELIVERED, SHIPMENT_FAILED, DEADLINE)

# ---- SP: keyed by order id --------------------------------------------------------------------
START_PAYMENT = command("gamevault.payments.start", topic=PAYMENTS_COMMANDS, summary="saga: start the payment")
REFUND_PAYMENT = command("gamevault.payments.refund", topic=PAYMENTS_COMMANDS,
                         summary="saga compensation: refund a capture")
VOID_PAYMENT = command("gamevault.payments.void", topic=PAYMENTS_COMMANDS,
                       summary="saga compensation: void a payment that never confirmed")
RECONCILE_PAYMENT = command("gamevault.payments.reconcile", topic=PAYMENTS_COMMANDS,
                            summary="saga: no webhook in time, ask the gateway")
PAYMENT_WEBHOOK = command("gamevault.payments.webhook", topic=PAYMENTS_COMMANDS,
                          summary="a verified gateway notification, stored by the webhook route")


def _payment_result(call: str) -> CommandType:
    return command(f"gamevault.payments.result.{call}", topic=PAYMENTS_COMMANDS,
                   summary=f"the outcome of the gateway call {call!r}")


PAYMENT_RESULTS = {call: _payment_result(call) for call in ("start", "capture", "refund", "void", "reconcile",
                                                             "confirm")}

# ---- LE: keyed by order id --------------------------------------------------------------------
CREATE_SHIPMENT = command("gamevault.logistics.create", topic=LOGISTICS_COMMANDS,
                          summary="saga: create the shipment with the carrier")
TRACK_SHIPMENT = command("gamevault.logistics.track", topic=LOGISTICS_COMMANDS,
                         summary="saga: no delivery notice in time, ask the carrier")
CARRIER_NOTICE = command("gamevault.logistics.carrier_event", topic=LOGISTICS_COMMANDS,
                         summary="a verified carrier notification, stored by the webhook route")
SHIPMENT_RESULTS = {call: command(f"gamevault.logistics.result.{call}", topic=LOGISTICS_COMMANDS,
                                  summary=f"the outcome of the carrier call {call!r}")
                    for call in ("create", "track")}

# ---- CR: keyed by product id ------------------------------------------------------------------
SUBMIT_REVIEW = command("gamevault.reviews.review.submit", topic=REVIEWS_COMMANDS,
                        summary="a buyer's review (REST), or an admitted ingress review forwarded as is")
MODERATE_REVIEW = command("gamevault.reviews.moderate", topic=REVIEWS_COMMANDS, summary="approve or reject a review")
EDIT_REVIEW = command("gamevault.reviews.edit", topic=REVIEWS_COMMANDS, summary="its author edits a review")
RETRACT_REVIEW = command("gamevault.reviews.retract", topic=REVIEWS_COMMANDS, summary="its author retracts a review")
COMMENT = command("gamevault.reviews.comment", topic=REVIEWS_COMMANDS, summary="comment on a review")
MODERATE_COMMENT = command("gamevault.reviews.moderate_comment", topic=REVIEWS_COMMANDS,
                           summary="approve or reject a comment")
VOTE = command("gamevault.reviews.vote", topic=REVIEWS_COMMANDS, summary="a helpful vote on a review")
