"""The provider-feedback vocabulary: bid outcomes, why a valid bid lost, market changes.

Stable codes with descriptions, published by `GET /v1/catalogue` beside the reason codes
(`matcher.vocabulary.reasons`), which a rejected bid's feedback explains one by one.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What became of a bid."""

    WON = "won"
    LOST = "lost"
    REJECTED = "rejected"


class LostOn(StrEnum):
    """Why a valid bid did not rank first."""

    PRICE = "price"
    MATCH = "match"
    TIE_RULE = "tie_rule"


class Change(StrEnum):
    """A single change to one listing that the market feedback counts the effect of."""

    LOWER_FEE = "lower_fee"
    ONE_MORE_VACANCY = "one_more_vacancy"
    SUPPORT_NEED = "support_need"


class Effect(StrEnum):
    """What a change would have done for a referral."""

    WON = "won"
    ELIGIBLE = "eligible"


OUTCOME_DESCRIPTIONS: dict[str, str] = {
    Outcome.WON: "The bid ranked first among the referral's valid bids.",
    Outcome.LOST: "The bid was valid but ranked below first (see lost_on).",
    Outcome.REJECTED: "The bid could not be ranked (see its reasons and what would make it valid).",
}

LOST_ON_DESCRIPTIONS: dict[str, str] = {
    LostOn.PRICE: "Ordered by price: the winning bid's expected total cost was lower.",
    LostOn.MATCH: "Ordered by best match: the bid's score was not higher than the winning "
    "bid's (see the components it lost most on).",
    LostOn.TIE_RULE: "Ordered by best match: the bid scored higher, but the winning bid also "
    "fully meets the child's needs, scored within tie_epsilon of the top and was cheaper "
    "(the cheapest-first tie rule).",
}

CHANGE_DESCRIPTIONS: dict[str, str] = {
    Change.LOWER_FEE: "A lower weekly fee, all else equal: referrals the listing's valid bid "
    "lost and would have won (effect won).",
    Change.ONE_MORE_VACANCY: "One more vacancy by the start date: referrals the listing was "
    "excluded from by its vacancies alone, one short (effect eligible: it would have received "
    "them).",
    Change.SUPPORT_NEED: "Supporting one more need: referrals the listing was excluded from "
    "by that one missing need alone (effect eligible).",
}

EFFECT_DESCRIPTIONS: dict[str, str] = {
    Effect.WON: "The listing would have ranked first.",
    Effect.ELIGIBLE: "The listing would have been eligible, so the referral would have "
    "reached it; whether its bid would then have won is not known.",
}
