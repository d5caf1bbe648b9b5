"""Read a YAML file safely and within bounds: one reader for every YAML file pkilab is given.

PyYAML's safe loader builds no objects but plain data, yet a file can still hurt whoever walks
the result: aliases that multiply (the "billion laughs" bomb: nine anchors of ten aliases each
are a billion nodes once expanded, although the file is a few hundred bytes), nesting deep
enough to exhaust the interpreter's stack, a binary or enormous file. Each of these is refused
here with one line naming the file and what is wrong, before anything else reads the data:

* the file must be UTF-8 text without NUL bytes, at most :data:`MAX_BYTES`;
* the document, with every alias expanded, must have at most :data:`MAX_NODES` nodes;
* nesting must stay within :data:`MAX_DEPTH` levels;
* a mapping must not repeat a key (PyYAML keeps the last silently, pyATS's loader only warns on
  stderr and goes on: a testbed with ``port`` twice would run against whichever came last).

The expanded size is computed on the node graph with one visit per distinct node, so measuring
a bomb costs no more than reading it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pkilab.errors import TestbedError

MAX_BYTES = 4 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64


def load_file(path: str | Path) -> Any:
    """Read and parse the YAML file ``path`` within the module's bounds.

    Raises:
        TestbedError: unreadable, binary, too large, invalid YAML, too deep or too large expanded.
    """
    where = str(path)
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise TestbedError(where, f"is {size} bytes; a testbed is at most {MAX_BYTES}")
        raw = p.read_bytes()
    except OSError as exc:
        raise TestbedError(where, f"cannot read: {exc.strerror or exc}") from None
    if b"\x00" in raw:
        raise TestbedError(where, "is a binary file, not YAML text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TestbedError(where, f"is not UTF-8 text (byte {exc.start})") from None
    return load_text(text, where)


def load_text(text: str, where: str) -> Any:
    """Parse YAML ``text`` (from ``where``, for messages) within the module's bounds."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise TestbedError(where, f"invalid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:
        raise TestbedError(where, f"nested deeper than {MAX_DEPTH} levels") from None
    if node is None:
        return None
    _check_bounds(node, where)
    try:
        return yaml.SafeLoader(text).get_single_data()
    except yaml.YAMLError as exc:  # constructor errors (bad timestamps, duplicate merge keys…)
        raise TestbedError(where, f"invalid YAML: {getattr(exc, 'problem', None) or exc}") from None


def _check_bounds(root: yaml.Node, where: str) -> None:
    """Refuse a node graph that is too deep or, aliases expanded, too large (iteratively, no recursion)."""
    expanded: dict[int, int] = {}
    # Post-order walk: (node, depth, children done?, key path). Sizes are memoised per distinct
    # node, so a node reached through many aliases is measured once and counted as often as it is used.
    stack: list[tuple[yaml.Node, int, bool, str]] = [(root, 1, False, "")]
    while stack:
        node, depth, done, path = stack.pop()
        if depth > MAX_DEPTH:
            raise TestbedError(where, f"nested deeper than {MAX_DEPTH} levels (line {node.start_mark.line + 1})")
        if id(node) in expanded:
            continue
        children = _children(node)
        if done or not children:
            total = 1 + sum(expanded[id(c)] for c in children)
            if total > MAX_NODES:
                raise TestbedError(where, f"expands to more than {MAX_NODES} nodes (aliases multiplying: a YAML bomb?)")
            expanded[id(node)] = total
            continue
        if isinstance(node, yaml.MappingNode):
            _check_keys(node, where, path)
        stack.append((node, depth, True, path))
        stack.extend((c, depth + 1, False, p) for c, p in _paths(node, path) if id(c) not in expanded)


def _paths(node: yaml.Node, path: str) -> list[tuple[yaml.Node, str]]:
    """The children of ``node`` with their key paths (a mapping value: PATH.KEY; others: PATH)."""
    if not isinstance(node, yaml.MappingNode):
        return [(c, path) for c in _children(node)]
    found: list[tuple[yaml.Node, str]] = []
    for key, value in node.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else "?"
        found += [(key, path), (value, f"{path}.{name}" if path else str(name))]
    return found


def _check_keys(node: yaml.MappingNode, where: str, path: str) -> None:
    """Refuse a mapping that repeats a plain key (merge keys ``<<`` may repeat)."""
    seen: set[tuple[str, str]] = set()  # (tag, text): 1 and "1" are different keys
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        if (key.tag, key.value) in seen:
            field = f"{path}.{key.value}" if path else key.value
            raise TestbedError(where, f"key {key.value!r} given twice (line {key.start_mark.line + 1})", field=field)
        seen.add((key.tag, key.value))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []
