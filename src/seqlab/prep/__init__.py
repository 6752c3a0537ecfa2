"""Preparation of parsed data for sequence models (pure functions)."""
