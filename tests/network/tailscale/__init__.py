"""Tests of the Tailscale source."""
