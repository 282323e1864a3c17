"""Tests of the Cloudflare source."""
