"""The embedded demo network: simulated locations (real HTTP apps) and the generator of their data."""
