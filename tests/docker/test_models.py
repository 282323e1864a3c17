"""Docker Engine answer shapes Podman does not produce.

Health in the status text, the engine's own CPU pre-sample, cgroup page cache, engine identity.

The shapes are those of the Docker Engine API reference (v1.47) for `/containers/json`,
`/containers/{id}/stats` and `/version`.
"""

from __future__ import annotations

from custom_components.homelab_agents.docker.models import (
    engine_identity,
    parse_listed,
    parse_stats,
)


def _row(status: str, **extra: object) -> dict[str, object]:
    return {
        "Id": "8dfafdbc3a40",
        "Names": ["/pihole"],
        "Image": "pihole/pihole:latest",
        "State": "running",
        "Status": status,
        "Created": 1367854155,
        "Labels": {},
        **extra,
    }


def test_docker_shows_health_in_the_status_text() -> None:
    """Docker: `Up 3 minutes (healthy)` and the like; no health without parentheses."""
    shown = {
        status: parse_listed(_row(status)).listed_health  # type: ignore[union-attr]
        for status in (
            "Up 3 minutes (healthy)",
            "Up 3 minutes (unhealthy)",
            "Up 2 seconds (health: starting)",
            "Up 3 minutes",
        )
    }
    assert shown == {
        "Up 3 minutes (healthy)": "healthy",
        "Up 3 minutes (unhealthy)": "unhealthy",
        "Up 2 seconds (health: starting)": "starting",
        "Up 3 minutes": None,
    }


def test_rows_without_id_or_name_are_skipped() -> None:
    """An engine answer missing the essentials is ignored, not an error."""
    assert parse_listed(_row("Up", Names=[])) is None
    assert parse_listed(_row("Up", Id="")) is None


def test_stats_with_the_engines_pre_sample_and_page_cache() -> None:
    """Docker without one-shot: CPU from precpu_stats; cgroup v2 inactive_file is not used."""
    sample = parse_stats(
        {
            "id": "8dfafdbc3a40",
            "cpu_stats": {
                "cpu_usage": {"total_usage": 1_500_000_000},
                "system_cpu_usage": 20_000_000_000,
                "online_cpus": 4,
            },
            "precpu_stats": {
                "cpu_usage": {"total_usage": 1_000_000_000},
                "system_cpu_usage": 10_000_000_000,
            },
            "memory_stats": {
                "usage": 200 * 2**20,
                "limit": 1024 * 2**20,
                "stats": {"inactive_file": 50 * 2**20},
            },
        },
        read_at=1.0,
        previous=None,
    )
    assert sample.cpu_percent == 20.0  # 0.5 s of 10 s over 4 CPUs
    assert sample.memory_used == 150 * 2**20
    assert sample.memory_limit == 1024 * 2**20
    assert not sample.first


def test_memory_under_cgroup_v1_counts_nested_page_cache_out() -> None:
    """Under cgroup v1, `total_inactive_file` (hierarchical) as `docker stats`.

    A cache larger than the usage (counters read at different moments) leaves the usage.
    """
    memory = {
        "usage": 60 * 2**20,
        "stats": {"inactive_file": 2**20, "total_inactive_file": 50 * 2**20, "cache": 51 * 2**20},
    }
    sample = parse_stats({"id": "a", "memory_stats": memory}, read_at=1.0, previous=None)
    assert sample.memory_used == 10 * 2**20
    memory = {"usage": 2**20, "stats": {"inactive_file": 2 * 2**20}}
    sample = parse_stats({"id": "a", "memory_stats": memory}, read_at=1.0, previous=None)
    assert sample.memory_used == 2**20


def test_docker_engine_identity_is_its_id() -> None:
    """Docker keeps its engine ID; an answer without one identifies nothing."""
    version = {"Version": "27.3.1", "Components": [{"Name": "Engine", "Version": "27.3.1"}]}
    assert engine_identity(version, {"ID": "7TRN:IPZB:QYBB", "Name": "nas"}) == "7TRN:IPZB:QYBB"
    assert engine_identity(version, {"Name": "nas"}) is None
    podman = {"Components": [{"Name": "Podman Engine"}]}
    assert engine_identity(podman, {"Name": "nas"}) is None
