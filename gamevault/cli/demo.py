"""`gamevault up --demo`: a living store for a new user, seeded through the public REST API.

Deterministic (the same sellers, buyers and 240 games every time) and idempotent: accounts that exist
are logged into, products carry an Idempotency-Key, so running it twice changes nothing.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import httpx

from gamevault.cli.demo_community import seed_community
from gamevault.cli.demo_traffic import run_traffic
from gamevault.config import Settings

DEMO_PASSWORD = "demo-password-1"
SELLERS = ["PixelForge Store", "Lima Retro Games", "Andes Digital", "Cusco Collectibles", "Arequipa Arcade"]
BUYERS = [f"buyer{n}@demo.gamevault.test" for n in range(1, 11)]
GENRES = ["action", "adventure", "rpg", "strategy", "sports", "racing", "puzzle", "platformer", "shooter",
          "simulation", "horror", "fighting", "roguelike", "indie"]
PLATFORMS = ["pc", "ps5", "ps4", "xbox-series", "xbox-one", "switch", "switch-2", "mobile"]
_ADJ = ["Shadow", "Crystal", "Neon", "Iron", "Silent", "Eternal", "Crimson", "Golden", "Lost", "Frozen",
        "Savage", "Cosmic", "Hidden", "Wild", "Ancient", "Electric", "Inca", "Andean", "Pacific", "Stellar"]
_NOUN = ["Quest", "Legends", "Odyssey", "Chronicles", "Frontier", "Kingdom", "Rally", "Tactics", "Empire",
         "Dungeon", "Horizon", "Arena", "Saga", "Outpost", "Citadel", "Voyage"]
_BLURB = ["An epic journey across {}.", "Fast-paced {} action with friends.", "A cozy {} for long evenings.",
          "Master the art of {} in this award-winning title.", "Survive, build and explore a {} world."]


def catalog(n: int = 240) -> list[dict[str, Any]]:
    rng = random.Random(42)
    games = []
    for i in range(n):
        genres = rng.sample(GENRES, rng.randint(1, 3))
        title = f"{rng.choice(_ADJ)} {rng.choice(_NOUN)}" + (f" {rng.randint(2, 5)}" if rng.random() < 0.3 else "")
        games.append({
            "key": f"demo-{i}",
            "seller": i % len(SELLERS),
            "body": {
                "title": title,
                "description": rng.choice(_BLURB).format(genres[0]),
                "platform": PLATFORMS[i % len(PLATFORMS)],
                "genres": genres,
                "price": {"amount": f"{rng.choice([19, 29, 39, 49, 59, 69, 89, 119, 199, 249])}.90",
                          "currency": "PEN"},
                "stock": rng.randint(5, 120),
            },
        })
    return games


def _account(http: httpx.Client, email: str, name: str, role: str) -> dict[str, Any]:
    r = http.post("/users", json={"email": email, "password": DEMO_PASSWORD, "display_name": name, "role": role})
    if r.status_code not in (201, 409):
        r.raise_for_status()
    token = http.post("/auth/token", data={"username": email, "password": DEMO_PASSWORD})
    token.raise_for_status()
    me = http.get("/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}).json()
    return {"id": me["id"], "email": email, "token": token.json()["access_token"], "role": role}


def seed_demo(settings: Settings, echo: Callable[[str], None] = print, traffic: bool = True) -> dict[str, Any]:
    echo("seeding the demo store ...")
    with httpx.Client(base_url=settings.api_url + "/api/v1", timeout=30.0) as http:
        sellers = [_account(http, f"seller{n + 1}@demo.gamevault.test", name, "seller")
                   for n, name in enumerate(SELLERS)]
        buyers = [_account(http, email, email.split("@")[0].title(), "buyer") for email in BUYERS]
        created = 0
        for game in catalog():
            seller = sellers[game["seller"]]
            r = http.post("/products", json=game["body"], headers={
                "Authorization": f"Bearer {seller['token']}", "Idempotency-Key": game["key"]})
            r.raise_for_status()
            created += r.status_code == 201
        echo(f"demo store: {len(sellers)} sellers, {len(buyers)} buyers (password {DEMO_PASSWORD!r}), "
             f"{len(catalog())} games ({created} new)")
        boss = None
        if settings.admin_email and settings.admin_password:
            login = http.post("/auth/token", data={"username": settings.admin_email,
                                                   "password": settings.admin_password})
            boss = {"Authorization": f"Bearer {login.json()['access_token']}"} if login.status_code == 200 else None
        seed_community(http, sellers, buyers, boss, echo)
    state = {"sellers": sellers, "buyers": buyers}
    if traffic:
        threading.Thread(target=run_traffic, args=(settings, state, echo), daemon=True, name="demo-traffic").start()
    return state
