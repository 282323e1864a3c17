"""Proxmox VE: cluster inventory over one request per poll, guest power control with tasks."""
