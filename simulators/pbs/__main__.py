"""Run the PBS simulator stand-alone: `python -m simulators.pbs --guests 50 --snapshots 100`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from .datastore import DatastoreConfig
from .simulator import PbsSimulator


def _datastore(text: str) -> tuple[str, DatastoreConfig]:
    """`name=TOTAL[:USED]` in bytes."""
    name, _, sizes = text.partition("=")
    total, _, used = sizes.partition(":")
    try:
        return name, DatastoreConfig(total=int(total), used=int(used or 0))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected name=TOTAL[:USED] bytes, got {text!r}"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulators.pbs", description=__doc__)
    parser.add_argument("--guests", type=int, default=10, help="guests backed up (default 10)")
    parser.add_argument(
        "--snapshots", type=int, default=14, help="daily snapshots per guest (default 14)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--port", type=int, default=8007, help="HTTPS port (0: any free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--datastore",
        type=_datastore,
        action="append",
        help="name=TOTAL[:USED] in bytes, repeatable (default store1=2000000000000)",
    )
    parser.add_argument(
        "--task-duration", type=float, default=2.0, help="seconds a task runs (default 2)"
    )
    return parser


async def _serve(args: argparse.Namespace) -> None:
    datastores = dict(args.datastore) if args.datastore else {"store1": 2_000_000_000_000}
    sim = PbsSimulator(
        datastores=datastores,
        guests=args.guests,
        snapshots_per_guest=args.snapshots,
        seed=args.seed,
        task_duration=args.task_duration,
        host=args.host,
        port=args.port,
    )
    await sim.start()
    try:
        sys.stdout.write(
            f"PBS simulator at {sim.url}/api2/json\n"
            f"  token:       {sim.token.auth_id}  secret {sim.token.secret}\n"
            f"  header:      Authorization: {sim.token.header}\n"
            f"  login:       {sim.user} / {sim.password}\n"
            f"  fingerprint: {sim.certificate.fingerprint_sha256}\n"
            f"  certificate: {sim.certificate.cert_path}\n"
            f"  datastores:  {', '.join(sim.datastores)}\n"
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
