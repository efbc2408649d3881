"""Many referrals at once: block allocation, sufficiency (its report, its Dask path), demo
referrals.

May import `matcher.bids`, `matcher.match`, `matcher.registry`, `matcher.vocabulary`, `geodata`.
"""
