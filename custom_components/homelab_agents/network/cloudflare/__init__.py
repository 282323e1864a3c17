"""Cloudflare: zone analytics and Cloudflare Tunnel states of one account through its API."""
