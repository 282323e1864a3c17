"""Run the Tailscale API simulator stand-alone: `python -m simulators.tailscale --port 18443`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from .simulator import DEFAULT_API_KEY, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TailscaleSimulator


async def _serve(host: str, port: int, seed: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with TailscaleSimulator(seed=seed, host=host, port=port) as simulator:
        print(f"Tailscale API simulator on {simulator.url}")  # noqa: T201
        print(f"  API key: {DEFAULT_API_KEY}")  # noqa: T201
        print(f"  OAuth client: {DEFAULT_CLIENT_ID} / {DEFAULT_CLIENT_SECRET}")  # noqa: T201
        await stop.wait()


def main() -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m simulators.tailscale")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18443)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(arguments.host, arguments.port, arguments.seed))


if __name__ == "__main__":
    main()
