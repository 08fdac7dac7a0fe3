"""A seller's Kafka integrations: the seller creates and revokes its own partner identity.

The credentials are in the creation's answer only; GameVault keeps none of them (the broker holds
the salted SCRAM secret). An integration may change only its seller's products and stock
(agents/ingress.py). Provisioning talks to the cluster's access control, so it runs in a thread.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from gamevault.api.deps import Seller, Services
from gamevault.api.models import Integration, IntegrationCreate, IntegrationCreated, Page
from gamevault.api.problems import Problem
from gamevault.broker.partners import PartnerError, PartnerExists, describe

router = APIRouter(prefix="/seller/integrations", tags=["catalog"])


def _mine(services: Services, seller_id: str) -> list[dict]:
    return sorted((p for p in services.views.partners.values() if p.get("seller_id") == seller_id),
                  key=lambda p: p["name"])


@router.post("", status_code=201, response_model=IntegrationCreated,
             summary="Create a Kafka integration for the caller's products (credentials shown once)",
             responses={409: {"description": "the name is taken"}, 503: {"description": "Kafka's access control "
                                                                                       "is unreachable"}})
async def create(body: IntegrationCreate, seller: Seller, services: Services, response: Response) -> IntegrationCreated:
    try:
        record, access = await asyncio.to_thread(services.partners.add, body.name, "seller", seller.user_id,
                                                 f"seller:{seller.user_id}")
    except PartnerExists as exc:
        raise Problem(409, str(exc), slug="conflict") from None
    except PartnerError as exc:
        raise Problem(422, str(exc)) from None
    except (RuntimeError, OSError) as exc:
        raise Problem(503, f"the integration could not be provisioned: {exc}", headers={"Retry-After": "5"}) from None
    services.views.partners.apply(record.name, record.model_dump(mode="json"))  # read your own write
    response.headers["Location"] = f"/api/v1/seller/integrations/{record.name}"
    response.headers["Cache-Control"] = "no-store"
    return IntegrationCreated(**describe(record, access), created_at=record.created_at)


@router.get("", response_model=Page[Integration], summary="The caller's integrations (no credentials)")
async def list_mine(seller: Seller, services: Services) -> Page[Integration]:
    return Page(items=[Integration(name=p["name"], kind=p["kind"], seller_id=p["seller_id"], topics=[p["topic"]],
                                   created_at=p["created_at"]) for p in _mine(services, seller.user_id)])


@router.delete("/{name}", status_code=204, summary="Revoke an integration: its credentials stop working")
async def revoke(name: str, seller: Seller, services: Services) -> Response:
    if name not in {p["name"] for p in _mine(services, seller.user_id)}:
        raise Problem(404, f"you have no integration named {name}")
    try:
        await asyncio.to_thread(services.partners.remove, name)
    except (RuntimeError, OSError) as exc:
        raise Problem(503, f"the integration could not be revoked: {exc}", headers={"Retry-After": "5"}) from None
    services.views.partners.apply(name, None)
    return Response(status_code=204)
