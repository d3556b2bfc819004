"""GOVERNANCE module (later issues)."""
