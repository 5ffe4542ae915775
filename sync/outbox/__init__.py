"""The write pipeline: typed outbox messages, the durable queue, delivery to owners and the worker."""
