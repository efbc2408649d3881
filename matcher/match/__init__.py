"""Matching one referral: request and criteria, radius, eligibility, the shortlist and its answer.

May import `matcher.registry`, `matcher.vocabulary` and `geodata`; never bids, batch or adapters.
"""
