"""Fault 4: a webhook storm while traffic flows.

The simulators deliver every notification 3 times, shuffled, with random delays; meanwhile an attacker
posts forged successes for real orders (wrong secret), replays with expired timestamps, and genuinely
signed notifications for payments that do not exist. Forged and expired ones are refused, unknown ones
are stored then dead-lettered, and every order ends right (a completed order was really captured).
"""

import random
import threading
import time
import uuid

import httpx
import orjson

from gamevault.adapters.signing import hmac_header
from tests.system.harness import Traffic, check_everything, system_stack

HEADER = {"yape": "Yape-Signature", "plin": "X-Plin-Signature"}


def notification(order_id: str) -> bytes:
    return orjson.dumps({"id": f"evt_{uuid.uuid4().hex}", "type": "charge.succeeded", "created": int(time.time()),
                         "data": {"id": "ch_forged", "status": "succeeded", "metadata": {"order_id": order_id}}})


class Attacker(threading.Thread):
    def __init__(self, stack, traffic: Traffic) -> None:
        super().__init__(daemon=True)
        self.stack, self.traffic = stack, traffic
        self.secrets = {p: (stack.home / "secrets" / f"{p}-webhook-secret").read_text().strip() for p in HEADER}
        self.refused: dict[str, list[int]] = {"forged": [], "expired": [], "unknown": []}

    def run(self) -> None:
        rng = random.Random(3)
        with httpx.Client(base_url=self.stack.url + "/api/v1", timeout=30) as client:
            while not self.traffic.stop_event.is_set():
                provider = rng.choice(list(HEADER))
                orders = list(self.traffic.orders)
                target = rng.choice(orders) if orders else str(uuid.uuid4())
                kind = rng.choice(["forged", "expired", "unknown"])
                if kind == "unknown":
                    target = f"unknown-{uuid.uuid4().hex[:10]}"
                body = notification(target)
                if kind == "forged":
                    signature = hmac_header("an-attackers-guess", body)
                elif kind == "expired":
                    signature = hmac_header(self.secrets[provider], body, timestamp=int(time.time()) - 400)
                else:
                    signature = hmac_header(self.secrets[provider], body)
                r = client.post(f"/payments/webhooks/{provider}", content=body,
                                headers={"content-type": "application/json", HEADER[provider]: signature})
                self.refused[kind].append(r.status_code)
                if kind == "unknown" and r.status_code == 200:
                    with self.traffic.lock:
                        self.traffic.invalid[target] = "rejected"
                time.sleep(0.1)


def test_webhook_storm_with_forgeries(system_home, figure):
    stack = system_stack(system_home, workers=1)
    try:
        stack.chaos(webhook_copies=3, shuffle=True)
        traffic = Traffic(stack).run()
        attacker = Attacker(stack, traffic)
        attacker.start()
        time.sleep(14)
        traffic.stop()
        attacker.join(30)

        assert attacker.refused["forged"] and set(attacker.refused["forged"]) == {401}
        assert attacker.refused["expired"] and set(attacker.refused["expired"]) == {400}
        assert attacker.refused["unknown"] and set(attacker.refused["unknown"]) == {200}
        summary = check_everything(stack, traffic, None, figure)
        assert summary["orders"] > 20
    finally:
        stack.stop()
        stack.broker.stop()
