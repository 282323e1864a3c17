"""Write simulators/schemas/pve-api-subset.json: the PVE API schema for what the simulator serves.

Reads the official PVE api-viewer schema from ../shared/reference/pve-api-schema.json (relative to
the repository) and keeps, for each (method, path) in `simulators.pve.endpoints.SERVED_ENDPOINTS`,
the method's description, parameters, permissions, returns and the flags the simulator honours.
Output is deterministic: sorted keys, two-space indent, trailing newline.

Usage: python scripts/pve_schema_subset.py [--check]
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
import sys

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO.parent / "shared" / "reference" / "pve-api-schema.json"
SUBSET = REPO / "simulators" / "schemas" / "pve-api-subset.json"
KEPT_KEYS = (
    "allowtoken",
    "description",
    "method",
    "name",
    "parameters",
    "permissions",
    "protected",
    "proxyto",
    "returns",
)


def served_endpoints() -> tuple[tuple[str, str], ...]:
    """The simulator's served (method, path) pairs, imported from the repository checkout."""
    # The script runs as a file, so the repository root is not on sys.path by itself.
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    endpoints = importlib.import_module("simulators.pve.endpoints")
    served: tuple[tuple[str, str], ...] = endpoints.SERVED_ENDPOINTS
    return served


def build_subset(reference: dict[str, object]) -> dict[str, object]:
    """Return the subset document for the served endpoints of a full reference schema."""
    paths = reference["paths"]
    if not isinstance(paths, dict):
        raise TypeError("reference schema has no 'paths' object")
    subset: dict[str, dict[str, object]] = {}
    for method, path in served_endpoints():
        methods = paths.get(path)
        if not isinstance(methods, dict) or method not in methods:
            raise KeyError(f"{method} {path} is not in the reference schema")
        definition = methods[method]
        subset.setdefault(path, {})[method] = {
            key: definition[key] for key in KEPT_KEYS if key in definition
        }
    return {"source": reference["source"], "paths": subset}


def render(subset: dict[str, object]) -> str:
    """Serialise the subset deterministically."""
    return json.dumps(subset, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate(reference_path: Path = REFERENCE) -> str:
    """Read the reference schema and return the rendered subset."""
    reference = json.loads(reference_path.read_text(encoding="utf-8"))
    return render(build_subset(reference))


def main() -> int:
    """Write the subset, or with --check report whether the committed one is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed subset differs"
    )
    args = parser.parse_args()
    rendered = generate()
    if args.check:
        current = SUBSET.read_text(encoding="utf-8") if SUBSET.exists() else ""
        if current != rendered:
            print(f"{SUBSET.relative_to(REPO)} is out of date; run {Path(__file__).name}")
            return 1
        return 0
    SUBSET.parent.mkdir(parents=True, exist_ok=True)
    SUBSET.write_text(rendered, encoding="utf-8")
    print(f"wrote {SUBSET.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
