"""The Podman engine helper moved to simulators/podman.py (the demo uses it too)."""

from simulators.podman import (
    IMAGE,
    SERVICE_COMMAND,
    SHARED,
    Engine,
    PodmanService,
    PodmanStorage,
    SharedPodman,
    engine_get,
    new_folder,
    podman_available,
)

__all__ = [
    "IMAGE",
    "SERVICE_COMMAND",
    "SHARED",
    "Engine",
    "PodmanService",
    "PodmanStorage",
    "SharedPodman",
    "engine_get",
    "new_folder",
    "podman_available",
]
