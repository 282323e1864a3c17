"""The demo homelab, driven the way a newcomer uses it: in a browser."""
