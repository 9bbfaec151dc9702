"""Placeholder."""

HANDLERS: list = []
