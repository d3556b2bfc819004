"""The audit trail: one PROV-O event per mutation, in the audit graph."""
