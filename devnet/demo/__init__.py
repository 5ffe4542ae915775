"""A believable, deterministic demo booking network to fill an empty cache (see generator.py)."""
