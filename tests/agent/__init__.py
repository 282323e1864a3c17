"""Tests of the homelab LLM API."""
