"""SP agent: payments per order; gateway calls run beside it (EffectRunner), webhooks arrive stored."""

from __future__ import annotations

import logging
from typing import Any

from gamevault.adapters.retry import PermanentError
from gamevault.agents.command_batches import command_agent
from gamevault.agents.runtime import Context, apply, reject
from gamevault.agents.services import AgentServices
from gamevault.domain import payments
from gamevault.domain.decision import Decision
from gamevault.streams.contracts.commands import (
    PAYMENT_RESULTS,
    PAYMENT_WEBHOOK,
    RECONCILE_PAYMENT,
    REFUND_PAYMENT,
    START_PAYMENT,
    VOID_PAYMENT,
)
from gamevault.streams.envelope import iso
from gamevault.streams.topics import PAYMENTS_COMMANDS

log = logging.getLogger(__name__)
SOURCE = "/gamevault/payments"


def install(services: AgentServices) -> None:
    table = services.tables.payments
    gateways = services.gateways
    effects = services.effect_runner(SOURCE)
    dispatcher = services.dispatcher("payments", PAYMENTS_COMMANDS, SOURCE)

    def call(what: str, payment: dict[str, Any]) -> None:
        gateway = gateways[payment["provider"]]

        async def perform() -> dict[str, Any]:
            try:
                if what == "start":
                    return {"ok": True, "reference": (await gateway.start(payment)).reference}
                if what == "capture":
                    return {"ok": True, "outcome": await gateway.capture(payment)}
                if what == "refund":
                    await gateway.refund(payment)
                    return {"ok": True}
                if what == "void":
                    await gateway.void(payment)
                    return {"ok": True}
                return {"ok": True, "answer": await gateway.status(payment)}
            except PermanentError as exc:
                return {"ok": False, "reason": exc.reason, "transient": False}

        effects.run(what, payment["order_id"], perform, PAYMENT_RESULTS[what])

    async def persist(ctx: Context, order_id: str, decision: Decision) -> None:
        await apply(ctx, table, order_id, decision, call)

    def at(ctx: Context) -> str:
        return iso(ctx.event.time)

    @dispatcher.on(START_PAYMENT)
    async def start(data: dict[str, Any], ctx: Context) -> None:
        await persist(ctx, data["order_id"], payments.start(table.get(data["order_id"]), data, at(ctx)))

    @dispatcher.on(PAYMENT_WEBHOOK)
    async def webhook(data: dict[str, Any], ctx: Context) -> None:
        payment = table.get(data["order_id"])
        if payment is None:
            await reject(ctx, "not_found", f"webhook {data.get('event_id')} for unknown payment of order "
                                           f"{data['order_id']!r}")
            return
        await persist(ctx, data["order_id"], payments.webhook(payment, data, at(ctx)))

    @dispatcher.on(REFUND_PAYMENT)
    async def refund(data: dict[str, Any], ctx: Context) -> None:
        await persist(ctx, data["order_id"], payments.refund(table.get(data["order_id"])))

    @dispatcher.on(VOID_PAYMENT)
    async def void(data: dict[str, Any], ctx: Context) -> None:
        await persist(ctx, data["order_id"], payments.void(table.get(data["order_id"]), data["reason"], at(ctx)))

    @dispatcher.on(RECONCILE_PAYMENT)
    async def reconcile(data: dict[str, Any], ctx: Context) -> None:
        payment = table.get(data["order_id"])
        if payment is not None and payment["status"] in (payments.STARTING, payments.PENDING):
            call("reconcile", payment)

    @dispatcher.on(PAYMENT_RESULTS["start"])
    async def start_result(data: dict[str, Any], ctx: Context) -> None:
        payment = table.get(data["key"])
        if payment is not None:
            result = data if data["ok"] else {"ok": False, "reason": data.get("reason") or "gateway error"}
            await persist(ctx, data["key"], payments.started(payment, result, at(ctx)))

    @dispatcher.on(PAYMENT_RESULTS["capture"])
    async def capture_result(data: dict[str, Any], ctx: Context) -> None:
        payment = table.get(data["key"])
        if payment is not None and data["ok"] and data["outcome"] in ("captured", "failed"):
            reason = "INSTRUMENT_DECLINED" if data["outcome"] == "failed" else None
            note = {"outcome": data["outcome"], "reason": reason}
            await persist(ctx, data["key"], payments.notified(payment, note, at(ctx)))

    @dispatcher.on(PAYMENT_RESULTS["refund"])
    async def refund_result(data: dict[str, Any], ctx: Context) -> None:
        payment = table.get(data["key"])
        if payment is not None:
            result = {"ok": data["ok"], "retry": data.get("transient")}
            await persist(ctx, data["key"], payments.refunded(payment, result, at(ctx)))

    @dispatcher.on(PAYMENT_RESULTS["void"])
    async def void_result(data: dict[str, Any], ctx: Context) -> None:
        payment = table.get(data["key"])
        if payment is not None:
            await persist(ctx, data["key"], payments.voided(payment, at(ctx)))

    @dispatcher.on(PAYMENT_RESULTS["confirm"])
    async def confirm_result(data: dict[str, Any], ctx: Context) -> None:
        payment = table.get(data["key"])
        if payment is not None and data["ok"]:
            await persist(ctx, data["key"], payments.confirmed(payment, data["answer"], at(ctx)))

    @dispatcher.on(PAYMENT_RESULTS["reconcile"])
    async def reconcile_result(data: dict[str, Any], ctx: Context) -> None:
        payment = table.get(data["key"])
        if payment is not None and data["ok"]:
            await persist(ctx, data["key"], payments.reconciled(payment, data["answer"], at(ctx)))

    command_agent(services.app, dispatcher)
