"""Pi-hole v6: DNS query figures, the blocking switch, and per-client anomaly samples."""
