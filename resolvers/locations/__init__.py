"""Locations of the network and their health."""
