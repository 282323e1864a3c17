"""Tests for the network sources and the anomaly monitor they share."""
