"""Claim modules.  Each module registers its claims on import (see ``_registry.claim``).

Add a claim by adding a module here (or a function to an existing one); nothing else needs
to change.
"""
