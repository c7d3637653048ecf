"""What every ``ivfast`` subcommand shares: the expected-failure exception and option parsers."""

from __future__ import annotations

__all__ = ["CLIError", "column_map"]


class CLIError(Exception):
    """An expected failure (bad input file, arbitrage found...): printed without a traceback.

    Parameters
    ----------
    message : str
        What went wrong, naming the option or file.
    exit_code : int, default 2
        The process exit status (2: bad input, 1: a check failed).
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def column_map(text: str | None) -> dict[str, str]:
    """Parse ``--columns old=new,...`` into a rename mapping (empty for None or '')."""
    if not text:
        return {}
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise CLIError(f"--columns: expected old=new,... got {text!r}")
    return {old.strip(): new.strip() for old, new in pairs}
