"""Tests of the Pi-hole source."""
