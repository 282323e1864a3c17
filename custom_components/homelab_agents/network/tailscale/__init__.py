"""Tailscale: the devices of one tailnet through the Tailscale API v2."""
