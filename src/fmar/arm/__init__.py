"""ARM module (later issues)."""
