"""Money as exact decimals: strings in JSON, integer pence inside, half-up to the penny.

Binary floats cannot represent most penny amounts, and a council's finance team reconciles
to the penny, so a fee never touches a float on its way through matcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

import numpy as np
import orjson
from pydantic import AfterValidator, Field

# Plain decimal notation, at most two decimal places, no sign, no exponent: "4200", "4200.5",
# "4200.50". Scientific notation ("4.2e3") and sub-penny amounts are refused at the boundary.
MONEY_PATTERN = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?$"
# The same notation without zero ("0", "0.0", "0.00"): a bid of nothing a week is a mistake
# in the sending system, and ranked by price it would silently come first.
POSITIVE_MONEY_PATTERN = r"^([1-9][0-9]{0,8}(\.[0-9]{1,2})?|0\.([1-9][0-9]?|0[1-9]))$"


def _canonical_money(value: str) -> str:
    """Normalise to exactly two decimal places so equal amounts hash equally.

    Runs after MONEY_PATTERN has matched (digits, then at most two decimals), so padding
    the decimals with zeros is exact; a snapshot has hundreds of thousands of amounts.
    """
    whole, _, decimals = value.partition(".")
    return f"{whole}.{decimals:0<2}"


MoneyStr = Annotated[
    str,
    Field(pattern=MONEY_PATTERN, examples=["4200.00"], description='GBP, e.g. "4200.00"'),
    AfterValidator(_canonical_money),
]

PositiveMoneyStr = Annotated[
    str,
    Field(
        pattern=POSITIVE_MONEY_PATTERN,
        examples=["4200.00"],
        description='GBP above zero, e.g. "4200.00"',
    ),
    AfterValidator(_canonical_money),
]


def to_pence(value: str) -> int:
    """Parse a validated money string into integer pence.

    The canonical form ("4200.50") is read with integer arithmetic; anything else (fewer
    decimals, a sign) goes through Decimal, rounding half-up.
    """
    whole, _, decimals = value.partition(".")
    if len(decimals) == 2 and _ascii_digits(whole) and _ascii_digits(decimals):
        return int(whole) * 100 + int(decimals)
    return int((Decimal(value) * 100).to_integral_value(rounding=ROUND_HALF_UP))


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def round_pence(value: Decimal) -> int:
    """Round an exact amount in pence half-up to a whole penny (done once, at the end)."""
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def format_pence(pence: int) -> str:
    """Render integer pence as a GBP string with two decimals ("-12.05" for negatives)."""
    # One %-format of divmod's pair, a third faster than an f-string of its parts: an
    # answer formats about ten amounts per bid.
    if pence >= 0:
        return "%d.%02d" % divmod(pence, 100)  # noqa: UP031
    return "-%d.%02d" % divmod(-pence, 100)  # noqa: UP031


def pence_bytes(pence: int) -> bytes:
    """`format_pence` as ASCII bytes, for answers written as JSON text."""
    if pence >= 0:
        return b"%d.%02d" % divmod(pence, 100)
    return b"-%d.%02d" % divmod(-pence, 100)


_POINT_CENTS = tuple(b".%02d" % cents for cents in range(100))
_INT64_MIN = -(2**63)


def pence_texts(amounts: Sequence[int]) -> list[bytes]:
    """`pence_bytes` of each amount, for a whole column at once: the whole pounds written
    by one `orjson.dumps` (split at the commas), the pennies from a table. A ranked bid
    shows about ten amounts, so an answer of 50 bids formats ~500; one at a time that is a
    function call and a %-format each. Amounts beyond 64 bits go one at a time."""
    if not amounts:
        return []
    try:
        pence = np.array(amounts, dtype=np.int64)
    except OverflowError:
        return [pence_bytes(p) for p in amounts]
    if int(pence.min()) == _INT64_MIN:  # its absolute value is not an int64
        return [pence_bytes(p) for p in amounts]
    pounds, cents = np.divmod(np.abs(pence), 100)
    whole: list[bytes] = orjson.dumps(pounds.tolist())[1:-1].split(b",")
    texts = [w + _POINT_CENTS[c] for w, c in zip(whole, cents.tolist(), strict=True)]
    for i in np.flatnonzero(pence < 0).tolist():
        texts[i] = b"-" + texts[i]
    return texts
