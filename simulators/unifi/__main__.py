"""Run the UniFi simulator stand-alone: `python -m simulators.unifi --port 8443 --classic`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from .simulator import UnifiSimulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulators.unifi", description=__doc__)
    parser.add_argument("--port", type=int, default=8443, help="HTTPS port (0: any free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--clients", type=int, default=16, help="clients (default 16)")
    parser.add_argument(
        "--classic", action="store_true", help="a self-hosted controller instead of UniFi OS"
    )
    parser.add_argument(
        "--utc-offset", type=float, default=0.0, help="the household's hours from UTC"
    )
    return parser


async def _serve(args: argparse.Namespace) -> None:
    sim = UnifiSimulator(
        unifi_os=not args.classic,
        seed=args.seed,
        clients=args.clients,
        utc_offset_hours=args.utc_offset,
        host=args.host,
        port=args.port,
    )
    await sim.start()
    try:
        sys.stdout.write(
            f"UniFi simulator ({'classic' if args.classic else 'UniFi OS'}) at {sim.url}\n"
            f"  login:       {sim.username} / {sim.password}\n"
            f"  site:        default ({sim.site_id()})\n"
            f"  controller:  {sim.controller_id}\n"
            f"  fingerprint: {sim.certificate.fingerprint_sha256}\n"
            "Ctrl-C stops it.\n"
        )
        sys.stdout.flush()
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve until interrupted."""
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
