"""matcher: provider matching and ranking for looked-after children placements (DPV).

The domain core (geography in `geodata`, then registry, index, eligibility, pricing, scoring)
imports no web framework; `matcher.http` is a thin FastAPI layer over `matcher.service`.
"""

__version__ = "0.1.0"
