"""UniFi Network: site health, clients and devices of a UniFi console or controller."""
