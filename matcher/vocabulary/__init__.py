"""The vocabulary every layer speaks: codes and catalogues, reasons, errors, money, audit ids.

Imports only the standard library, pydantic (for the money string type) and `geodata`;
everything else in matcher may import it.
"""
