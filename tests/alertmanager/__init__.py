"""Tests for the Alertmanager source."""
