"""Tests for the Proxmox VE source, against the PVE simulator over real HTTPS."""
