"""Tests of the UniFi Network source."""
