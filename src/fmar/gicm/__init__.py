"""GICM module (later issues)."""
