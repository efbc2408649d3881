"""PostGIS side by side: the same registry, eligibility and radius in SQL (see compare.py)."""
