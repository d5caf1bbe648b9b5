"""Run ``show crypto isakmp sa`` on every router of a Nornir inventory and parse it with pkilab.

The inventory beside this file is pkilab's simulated lab (``pkilab sim up``). Each router is
reached with netmiko (nornir-netmiko); its output goes through pkilab's parser, or, with
``--genie``, through netmiko's Genie hook, which returns pkilab's facts once pkilab's Genie
parsers are registered. Exit status: 0 when every router answered and parsed, 1 when one did
not (one line per router on stderr), 2 on bad arguments.

    python examples/nornir/isakmp_sa.py [--inventory DIR] [--port-offset N] [--genie] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from nornir import InitNornir
from nornir.core.task import Result, Task
from nornir_netmiko.tasks import netmiko_send_command

from pkilab.parsers import parse_as
from pkilab.parsers.isakmp import IsakmpSaTable

COMMAND = "show crypto isakmp sa"
HERE = Path(__file__).resolve().parent


def isakmp_sa(task: Task, via_genie: bool) -> Result:
    """Nornir task: the router's ISAKMP SAs as pkilab's facts (a dict)."""
    sent = task.run(task=netmiko_send_command, command_string=COMMAND, enable=True, use_genie=via_genie)
    if not via_genie:
        return Result(host=task.host, result=parse_as(IsakmpSaTable, COMMAND, sent.result).to_dict())
    if not isinstance(sent.result, dict):  # netmiko hands back the text when Genie could not parse it
        raise ValueError(f"Genie did not parse {COMMAND!r}: is pkilab's Genie package registered?")
    return Result(host=task.host, result=dict(sent.result))


def run(inventory: Path, port_offset: int, via_genie: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the facts of every router that answered, and one error line per router that did not."""
    nr = InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": 4}},
        inventory={
            "plugin": "SimpleInventory",
            "options": {
                "host_file": str(inventory / "hosts.yaml"),
                "group_file": str(inventory / "groups.yaml"),
                "defaults_file": str(inventory / "defaults.yaml"),
            },
        },
        logging={"enabled": False},
    )
    for host in nr.inventory.hosts.values():
        host.port = (host.port or 22) + port_offset
    if via_genie:
        from netmiko.utilities import get_structured_data_genie

        import pkilab.genie

        pkilab.genie.register()
        get_structured_data_genie("", "cisco_ios", COMMAND)  # read Genie's table once, before the threads
    logging.getLogger("nornir").addHandler(logging.NullHandler())  # failures are reported below, one line each
    logging.getLogger("nornir").propagate = False
    results = nr.run(task=isakmp_sa, via_genie=via_genie)
    facts: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, multi in results.items():
        if multi.failed:
            # the innermost failure (netmiko's, or pkilab's ParseError), not Nornir's wrapper
            exc = [r.exception for r in multi if r.exception is not None][-1]
            first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
            errors[name] = f"{type(exc).__name__}: {first}"
        else:
            facts[name] = multi[0].result
    return facts, errors


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; see the module docstring."""
    ap = argparse.ArgumentParser(description=f"{COMMAND} on every router of a Nornir inventory, parsed by pkilab")
    ap.add_argument("--inventory", type=Path, default=HERE / "inventory", help="folder of hosts/groups/defaults.yaml")
    ap.add_argument("--port-offset", type=int, default=0, help="added to every host's SSH port")
    ap.add_argument("--genie", action="store_true", help="parse through netmiko's Genie hook (pkilab's Genie parsers)")
    ap.add_argument("--json", action="store_true", help="print the facts as JSON")
    args = ap.parse_args(argv)
    for kind in ("hosts", "groups", "defaults"):
        if not (args.inventory / f"{kind}.yaml").is_file():
            ap.error(f"{args.inventory}: no {kind}.yaml")
    facts, errors = run(args.inventory, args.port_offset, args.genie)
    if args.json:
        print(json.dumps(facts, indent=2, sort_keys=True))
    else:
        for name in sorted(facts):
            rows = facts[name]["sas"] or [{"dst": "-", "src": "-", "state": "no SA", "conn_id": "-"}]
            for sa in rows:
                print(f"{name:<14} {sa['dst']:<16} {sa['src']:<16} {sa['state']:<14} {sa['conn_id']}")
    for name in sorted(errors):
        print(f"{name}: {errors[name]}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
