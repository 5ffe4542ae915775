"""The event bus and event types subscribers receive."""
