"""The ``greenai`` command line.

Each sub-command lives beside the code it drives: a module listed in
``SUBCOMMANDS`` defines ``register(subparsers)``, which adds its parser and sets
``func`` (a callable taking the parsed args and returning an exit code).
Modules are imported lazily so that ``greenai --help`` stays fast and a broken
optional dependency only breaks its own command.

A user's mistake is one line on stderr, ``greenai <command>: <what is wrong>``,
and exit code 2, with nothing written: a command raises :class:`UsageError`
and :func:`run_command` (called once, by :func:`main` and by each module's own
``python -m`` entry point) prints it. Ctrl-C is one line and exit code 130
(:class:`Interrupted` says what was kept).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Callable

#: exit code of a command stopped by Ctrl-C (128 + SIGINT, the shell's convention)
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """A command ends with one line on stderr and ``exit_code``, never a traceback."""

    exit_code = 1


class UsageError(CommandError):
    """The command line asks for something impossible (a bad value, a missing file,
    a device this machine lacks): one line, exit code 2, nothing written."""

    exit_code = 2


class Interrupted(CommandError):
    """Ctrl-C, with what was kept (e.g. the rows written so far): exit code 130."""

    exit_code = EXIT_INTERRUPTED


def run_command(name: str, func: Callable, args) -> int:
    """Run ``func(args)`` for sub-command ``name``: its exit code, or one line on
    stderr for a :class:`CommandError` or Ctrl-C."""
    try:
        return int(func(args) or 0)
    except CommandError as exc:
        print(f"greenai {name}: {_one_line(exc)}", file=sys.stderr, flush=True)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"greenai {name}: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout went away (`greenai ... | head`): nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__

#: sub-command name -> module defining ``register(subparsers)``
SUBCOMMANDS: dict[str, str] = {
    "measure": "greenai.energy_cli",
    "models": "greenai.macs_cli",
    "dispatch": "greenai.dispatch.cli",
    "campaign": "greenai.campaign",
    "predict": "greenai.predict.cli",
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
    return run_command(args.command, args.func, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
