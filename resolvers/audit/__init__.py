"""The audit log: who changed what, when, at which location, in the scope of the caller's role."""
