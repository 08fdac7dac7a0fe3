"""Money as GameVault carries it: a decimal string with at most two decimals and a currency code.

Arithmetic is on integer cents, never floats; every layer (domain, adapters, the gateway) uses these.
"""

from __future__ import annotations

# What DECIMAL(12, 2) in the lake and the Money contract (10 integer digits) can hold
MAX_CENTS = 10**10 * 100 - 1


def cents(amount: str) -> int:
    """ "59.90" -> 5990 (raises ValueError on anything that is not such a string)."""
    whole, _, frac = amount.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 2:
        raise ValueError(f"not a money amount: {amount!r}")
    return int(whole) * 100 + int((frac + "00")[:2])


def from_cents(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"
