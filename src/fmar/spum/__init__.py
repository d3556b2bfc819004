"""SPUM, the Service Provider & User Module: organisations, users, platforms and delegations."""
