"""The ``greenai`` command line.

Each sub-command lives beside the code it drives: a module listed in
``SUBCOMMANDS`` defines ``register(subparsers)``, which adds its parser and sets
``func`` (a callable taking the parsed args and returning an exit code).
Modules are imported lazily so that ``greenai --help`` stays fast and a broken
optional dependency only breaks its own command.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: sub-command name -> module defining ``register(subparsers)``
SUBCOMMANDS: dict[str, str] = {
    "measure": "greenai.energy_cli",
    "models": "greenai.macs",
    "dispatch": "greenai.dispatch.cli",
    "campaign": "greenai.campaign",
    "predict": "greenai.predict_cli",
    "reproduce": "greenai.reproduce",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="greenai",
        description="Measure, explain, predict and schedule the energy of training deep-learning models on GPUs.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name, help=f"(see: greenai {name} --help)")
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    parser = build_parser(only=command)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
