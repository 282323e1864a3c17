"""Run the PVE simulator stand-alone: `python -m simulators.pve --nodes 3 --guests 200`."""

from __future__ import annotations

import argparse
import asyncio
import signal

from .simulator import PveSimulator


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.pve", description="Serve a simulated Proxmox VE cluster."
    )
    parser.add_argument("--nodes", type=int, default=3, help="cluster nodes (default 3)")
    parser.add_argument(
        "--guests", type=int, default=12, help="guests in the whole cluster (default 12)"
    )
    parser.add_argument("--storages", type=int, default=0, help="extra shared NFS storages")
    parser.add_argument("--port", type=int, default=8006, help="HTTPS port (default 8006, 0: any)")
    parser.add_argument("--seed", type=int, default=0, help="seed for layout and figures")
    parser.add_argument(
        "--task-duration", type=float, default=2.0, help="seconds a task runs (default 2)"
    )
    return parser.parse_args()


async def _serve(arguments: argparse.Namespace) -> None:
    simulator = PveSimulator(
        nodes=arguments.nodes,
        guests=max(0, arguments.guests),
        storages=arguments.storages,
        seed=arguments.seed,
        task_duration=arguments.task_duration,
        port=arguments.port,
    )
    await simulator.start()
    token = simulator.token
    cluster = simulator.cluster
    banner = "\n".join(
        (
            f"PVE simulator for cluster {cluster.name!r} at {simulator.url}",
            f"  {len(cluster.nodes)} nodes, {len(cluster.guests)} guests",
            f"  storages: {', '.join(cluster.storages)}",
            f"  token user:   {token.user}",
            f"  token id:     {token.token_id}",
            f"  token secret: {token.secret}",
            f"  header:       Authorization: {token.header}",
            f"  root@pam password: {simulator.root_password}",
            f"  certificate SHA-256 fingerprint: {simulator.certificate.fingerprint_sha256}",
            "Ctrl-C stops it.",
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    # Printing these is the command's purpose: the user copies them into Home Assistant.
    print(banner, flush=True)  # noqa: T201
    try:
        await stop.wait()
    finally:
        await simulator.stop()


def main() -> None:
    """Parse the arguments and serve until Ctrl-C or SIGTERM."""
    asyncio.run(_serve(_arguments()))


if __name__ == "__main__":
    main()
