"""Docker hosts (Docker Engine or Podman's Docker-compatible API): containers as devices."""
