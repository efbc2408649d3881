"""Many referrals at once: block allocation, sufficiency (and its report), demo referrals.

May import `matcher.bids`, `matcher.match`, `matcher.registry`, `matcher.vocabulary`, `geodata`.
"""
