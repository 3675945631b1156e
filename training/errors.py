"""Mistakes a user can fix end with one line, not a traceback."""
import sys


class UserError(Exception):
    """A mistake the user can fix; the scripts print it as one line and exit 1."""


def run_cli(main, argv=None):
    """Call main(argv); a UserError ends the program with one line on stderr."""
    try:
        main(argv)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
