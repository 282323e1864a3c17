"""Run the Pi-hole simulator stand-alone: `python -m simulators.pihole --port 18080`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from .simulator import DEFAULT_APP_PASSWORD, DEFAULT_PASSWORD, PiholeSimulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulators.pihole", description=__doc__)
    parser.add_argument("--port", type=int, default=18080, help="port (0: any free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--hostname", default="pihole", help="the host name it reports")
    parser.add_argument("--password", default=DEFAULT_PASSWORD, help="'' for no password")
    parser.add_argument("--seed", type=int, default=0, help="traffic noise seed (default 0)")
    parser.add_argument("--https", action="store_true", help="serve HTTPS (self-signed)")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    sim = PiholeSimulator(
        password=args.password or None,
        hostname=args.hostname,
        seed=args.seed,
        https=args.https,
        host=args.host,
        port=args.port,
    )
    await sim.start()
    try:
        sys.stdout.write(
            f"Pi-hole simulator on {sim.url} (password {args.password or 'none'}, "
            f"app password {DEFAULT_APP_PASSWORD}); Ctrl-C stops it\n"
        )
        sys.stdout.flush()
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def main() -> None:
    """Serve until interrupted."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(_parser().parse_args()))


if __name__ == "__main__":
    main()
