"""Value types shared by the event contracts (and by the REST models that reuse them)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

import email_validator
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Currency = Literal["PEN", "USD"]
Platform = Literal["pc", "ps5", "ps4", "xbox-series", "xbox-one", "switch", "switch-2", "mobile"]
PLATFORMS: tuple[str, ...] = Platform.__args__  # type: ignore[attr-defined]
Genre = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Role = Literal["buyer", "seller", "admin"]
Provider = Literal["paypal", "yape", "plin"]


def _number_not_text(value: object) -> object:
    if isinstance(value, bool | str | bytes):
        raise ValueError("must be a JSON integer, not a boolean or a string")
    return value


def whole_number(ge: int, le: int) -> object:
    """A JSON integer in [ge, le]: 3 and 3.0 (one number to JSON Schema), never true, "3" or 3.5."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_number_not_text)]
_AMOUNT = re.compile(r"^\d{1,10}(\.\d{1,2})?$")


class Contract(BaseModel):
    """Base of every event payload: unknown fields are refused, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    event_type: ClassVar[str]  # set by @event on the registered ones: name the type by its model


class Money(Contract):
    amount: str = Field(
        description="decimal string with at most two decimals, e.g. \"59.90\"",
        examples=["59.90"],
        pattern=r"^\d{1,10}(\.\d{1,2})?$",
    )
    currency: Currency = "PEN"

    @field_validator("amount", mode="before")
    @classmethod
    def _decimal_string(cls, value: object) -> str:
        if not isinstance(value, str):  # JSON numbers are binary floats: money travels as text
            raise ValueError("amount must be a decimal string such as \"59.90\"")
        text = str(value).strip()
        if not _AMOUNT.match(text):
            raise ValueError("amount must be a non-negative decimal with at most two decimals")
        return f"{Decimal(text):.2f}"

    @property
    def value(self) -> Decimal:
        return Decimal(self.amount)

    @classmethod
    def of(cls, value: Decimal, currency: str = "PEN") -> Money:
        return cls(amount=f"{value:.2f}", currency=currency)


def _email(value: str) -> str:
    """RFC 5321 syntax (email-validator); `.test` domains allowed (RFC 6761) for test environments."""
    try:
        result = email_validator.validate_email(value, check_deliverability=False, test_environment=True)
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    return result.normalized.lower()


Email = Annotated[
    str, StringConstraints(max_length=254), AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]

Stars = whole_number(1, 5)
Title = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
