"""Access control: principals, tokens, and the one policy table that decides every request."""
