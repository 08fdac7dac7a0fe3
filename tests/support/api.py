"""A small client for the gateway, used by the integration tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class User:
    id: str
    email: str
    password: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url + "/api/v1", timeout=30.0)

    def close(self) -> None:
        self.http.close()

    def register(self, role: str = "buyer", email: str | None = None, password: str = "password-123",
                 name: str | None = None) -> User:
        email = email or f"{role}-{uuid.uuid4().hex[:10]}@gamevault.test"
        r = self.http.post("/users", json={"email": email, "password": password, "role": role,
                                           "display_name": name or email.split("@")[0]})
        assert r.status_code == 201, r.text
        return User(r.json()["id"], email, password, role, self.login(email, password))

    def login(self, email: str, password: str) -> str:
        r = self.http.post("/auth/token", data={"username": email, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def product(self, seller: User, **fields: Any) -> dict[str, Any]:
        body = {"title": f"Game {uuid.uuid4().hex[:6]}", "platform": "pc", "genres": ["action"],
                "price": {"amount": "49.90", "currency": "PEN"}, "stock": 10, **fields}
        r = self.http.post("/products", json=body, headers=seller.headers)
        assert r.status_code == 201, r.text
        return r.json()
