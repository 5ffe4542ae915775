"""The live side of reads: refresh within maxAge and every location's heartbeat."""
