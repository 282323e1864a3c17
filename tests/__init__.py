"""Tests for homelab_agents."""
