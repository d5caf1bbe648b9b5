"""pkilab.parsers: IOS show and exec outputs to typed, frozen dataclasses.

Use :func:`parse` with the command as typed::

    from pkilab.parsers import parse
    table = parse("sh cry isa sa det", output)
    assert table.sas[0].auth == "rsig"

Each result has ``to_dict()`` (its JSON facts). A line no parser understands raises
:class:`ParseError` quoting it; a command with no parser raises :class:`UnknownCommandError`.
The per-family ``parse_…`` functions are importable from their modules.
"""

from pkilab.errors import ParseError
from pkilab.parsers._base import ios_datetime
from pkilab.parsers.registry import UnknownCommandError, match_command, parse, parse_as, parser_for

__all__ = ["ParseError", "UnknownCommandError", "ios_datetime", "match_command", "parse", "parse_as", "parser_for"]
