"""Prometheus Alertmanager: webhook receiver, alert store, API client and reconciliation."""
