"""The one error a user can fix: a leaf that every layer may raise."""


class UserError(Exception):
    """A mistake the user can fix; the commands print it as one line and exit 1."""
