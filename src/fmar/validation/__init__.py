"""Validation: SHACL shapes (pyshacl) plus the few rules a well-kept library checks better."""
