"""How operators see the gateway: metrics, structured logs, traces and health. Imports nothing of the gateway's own
layers, so every layer may report through it."""
