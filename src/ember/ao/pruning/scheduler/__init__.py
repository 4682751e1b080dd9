"""Sparsity-level schedulers."""
