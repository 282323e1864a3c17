"""Proxmox Backup Server: datastores, backup groups, verification, and backups through PVE."""
