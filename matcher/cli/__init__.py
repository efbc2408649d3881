"""The `matcher` command line, an adapter over `matcher.service` (as `matcher.http` is).

May import everything inward, and `matcher.http` only to start the server (`matcher serve`).
"""
