"""Faithful local stand-ins for the homelab's remote APIs, for tests and the demo."""
