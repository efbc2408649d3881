"""The registry: snapshot schema and loader, columns in memory, the R-tree index, demo data.

May import `matcher.vocabulary` and `geodata`; never the matching, bids, batch or adapters.
"""
