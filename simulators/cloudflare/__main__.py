"""Run the Cloudflare simulator stand-alone: `python -m simulators.cloudflare --port 18008`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from .simulator import CloudflareSimulator


async def _serve(args: argparse.Namespace) -> None:
    sim = CloudflareSimulator(seed=args.seed, host=args.host, port=args.port)
    account = sim.add_account("Homelab")
    for index, name in enumerate(args.zone or ["example.com", "homelab.example"]):
        sim.add_zone(account, name, requests_per_hour=2_000 / (index + 1))
    sim.add_tunnel(account, "home", status="healthy")
    sim.add_tunnel(account, "lab", status="degraded")
    token = sim.add_token()
    await sim.start()
    try:
        sys.stdout.write(
            f"Cloudflare simulator at {sim.api_url}\n"
            f"  token:   {token.value}\n"
            f"  account: {account.name} ({account.id})\n"
            f"  zones:   {', '.join(zone.name for zone in sim.zones.values())}\n"
            "Ctrl-C stops it.\n"
        )
        sys.stdout.flush()
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m simulators.cloudflare", description=__doc__)
    parser.add_argument("--port", type=int, default=18008, help="HTTP port (0: any free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--zone", action="append", help="zone name, repeatable")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
