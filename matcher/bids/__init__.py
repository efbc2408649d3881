"""The bids of one referral: contract terms, pricing, weights, scoring, ranking and its answer.

May import `matcher.match`, `matcher.registry`, `matcher.vocabulary` and `geodata`.
"""
