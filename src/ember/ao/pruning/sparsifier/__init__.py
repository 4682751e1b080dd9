"""Sparsifiers: ``BaseSparsifier`` and its mask rules."""
