"""Placeholder; the lead fills this in."""
