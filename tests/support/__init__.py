"""Fixtures and helpers shared by test modules, one module per area."""
