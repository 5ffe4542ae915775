"""Simulated locations: real HTTP apps speaking each kind's API, with their own store and ids."""
