"""Free slots, at one location or pooled across the network near a point."""
