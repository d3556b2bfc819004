"""PSQM module (later issues)."""
