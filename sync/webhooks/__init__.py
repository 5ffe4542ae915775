"""Inbound webhooks, once for every shim: signatures (verify), one application per event (receipts) and
no older event over newer data (receipts' ordering)."""
