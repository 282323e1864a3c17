"""Cut the PBS API subset the simulator serves out of the official OpenAPI document.

Reads ../shared/reference/pbs-openapi.json (relative to the repository root) and writes
simulators/schemas/pbs-api-subset.json: exactly the paths and methods in
simulators.pbs.operations.SERVED_OPERATIONS, with every component they reference. The output is
deterministic (sorted keys, two-space indent) so the committed file can be compared with a
fresh run.

Usage, from the repository root:
    .venv/bin/python scripts/pbs_schema_subset.py          # write the subset
    .venv/bin/python scripts/pbs_schema_subset.py --check  # exit 1 if the committed one differs
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
import json
from pathlib import Path
import sys
from typing import Final, cast

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Run as a plain script, Python puts scripts/ on the path but not the repository root.
    sys.path.insert(0, str(REPO_ROOT))

from simulators.pbs.operations import SERVED_OPERATIONS, Operation  # noqa: E402
from simulators.pbs.schema import SUBSET_PATH, Json, JsonObject, as_object  # noqa: E402

REFERENCE_PATH: Final = REPO_ROOT.parent / "shared" / "reference" / "pbs-openapi.json"
COMPONENT_PREFIX: Final = "#/components/"


def _references(value: Json) -> Iterable[str]:
    """Every `$ref` string anywhere inside a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _security_schemes(value: Json) -> Iterable[str]:
    """Names of the security schemes a `security` requirement list uses."""
    if isinstance(value, list):
        for requirement in value:
            if isinstance(requirement, dict):
                yield from requirement


def build_subset(reference: JsonObject, operations: Iterable[Operation]) -> JsonObject:
    """The subset document for `operations`, with the components they reference."""
    reference_paths = as_object(reference["paths"], "paths")
    paths: JsonObject = {}
    for method, template in operations:
        item = as_object(reference_paths.get(template), f"paths[{template!r}]")
        operation = as_object(item.get(method.lower()), f"{method} {template}")
        as_object(paths.setdefault(template, {}), template)[method.lower()] = operation

    components = as_object(reference["components"], "components")
    kept: dict[str, JsonObject] = {}
    pending = list(_references(paths))
    while pending:
        ref = pending.pop()
        if not ref.startswith(COMPONENT_PREFIX):
            raise ValueError(f"reference outside components: {ref}")
        section, name = ref.removeprefix(COMPONENT_PREFIX).split("/", 1)
        if name in kept.setdefault(section, {}):
            continue
        target = as_object(as_object(components[section], section).get(name), ref)
        kept[section][name] = target
        pending.extend(_references(target))

    security = reference.get("security", [])
    schemes = as_object(components.get("securitySchemes", {}), "securitySchemes")
    used_schemes = set(_security_schemes(security))
    for path_item in paths.values():
        for method_item in as_object(path_item, "path item").values():
            used_schemes.update(_security_schemes(as_object(method_item, "op").get("security")))
    if used_schemes:
        kept["securitySchemes"] = {name: as_object(schemes[name], name) for name in used_schemes}

    info = as_object(reference["info"], "info")
    return {
        "openapi": reference["openapi"],
        "info": {
            "title": f"{info['title']} (subset served by simulators.pbs)",
            "version": info["version"],
            "x-generated-by": "scripts/pbs_schema_subset.py from pbs-openapi.json",
        },
        "paths": paths,
        "components": cast("JsonObject", kept),
        "security": security,
    }


def render(subset: JsonObject) -> str:
    """The subset as the committed file spells it."""
    return json.dumps(subset, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate(reference_path: Path = REFERENCE_PATH) -> str:
    """Read the official document and render the subset for the served operations."""
    reference = as_object(cast("Json", json.loads(reference_path.read_text())), "reference")
    return render(build_subset(reference, SERVED_OPERATIONS))


def main(argv: list[str] | None = None) -> int:
    """Write the subset, or with --check report whether the committed file is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    rendered = generate()
    if args.check:
        if SUBSET_PATH.read_text() != rendered:
            print(f"{SUBSET_PATH} is out of date; run scripts/pbs_schema_subset.py")
            return 1
        print(f"{SUBSET_PATH} is up to date")
        return 0
    SUBSET_PATH.write_text(rendered)
    print(f"wrote {SUBSET_PATH} ({len(SERVED_OPERATIONS)} operations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
