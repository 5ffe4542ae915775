"""Applying changes that arrived from locations: one module per entity type behind one pipeline."""
