"""A sub-command that fails the way a bug would, to test the CLI's last line of defence."""


def register(sub) -> None:
    p = sub.add_parser("explode")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args, settings) -> int:
    return {}["missing"]  # a KeyError, as an unhandled bug would raise
