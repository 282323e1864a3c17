"""Tests of the Proxmox Backup Server source."""
