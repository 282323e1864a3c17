"""Tests of the Docker host kind against a real Podman engine."""
