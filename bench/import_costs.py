"""What a handler's import costs, module by module, and which libraries its path could do without.

Reads the tree that `python -X importtime` prints (each module under the one that first imported
it, with its own time) and the modules a probe saw used on the handler's path
(`bench.handler_probe`). A third-party package is unneeded when none of its modules ran on the path
and the function's own code (the function or the layer) imported it: what a used library imports
is that library's cost, not the handler's choice. Its cost is its own modules' time and that of the
modules only it brought in. Project modules are not judged: their classes and constants are used
without their own code running, which a probe cannot see.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

# `import time:       123 |        456 |     package.module`, children printed before their parent.
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)$")


@dataclass(frozen=True)
class ImportedModule:
    name: str
    self_us: int
    cumulative_us: int
    # The index of the module whose import first imported this one; None at the top.
    parent: int | None


@dataclass(frozen=True)
class UnneededPackage:
    """A third-party package that the handler's code imports and its path never uses."""

    name: str
    # The project module whose import brought it in.
    imported_by: str
    self_us: int
    # Other third-party packages that only it brought in.
    brought: tuple[str, ...]


def parse_importtime(stderr: str) -> list[ImportedModule]:
    """The imports of an `-X importtime` report, parents before children (failed attempts included)."""
    rows: list[tuple[int, str, int, int]] = []
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            rows.append((len(indent), name, int(self_us), int(cumulative_us)))
    modules: list[ImportedModule] = []
    # Read backwards the report is a pre-order walk: each module's parent is the nearest shallower one before it.
    open_parents: list[tuple[int, int]] = []
    for depth, name, self_us, cumulative_us in reversed(rows):
        while open_parents and open_parents[-1][0] >= depth:
            open_parents.pop()
        parent = open_parents[-1][1] if open_parents else None
        modules.append(ImportedModule(name, self_us, cumulative_us, parent))
        open_parents.append((depth, len(modules) - 1))
    return modules


def top_level(name: str) -> str:
    return name.split(".", maxsplit=1)[0]


def is_project(name: str, project: Collection[str]) -> bool:
    return top_level(name) in project


def with_packages(modules: Collection[str]) -> set[str]:
    """The modules and every package above them: using a submodule uses its packages."""
    names = set(modules)
    for name in modules:
        parts = name.split(".")
        names.update(".".join(parts[:end]) for end in range(1, len(parts)))
    return names


def handler_imports(modules: Sequence[ImportedModule], handler: str) -> list[int]:
    """Indexes of the handler module and of everything its import brought in (startup imports left out)."""
    top = next(index for index, module in enumerate(modules) if module.name == handler and module.parent is None)
    inside = [False] * len(modules)
    for index, module in enumerate(modules):
        inside[index] = index == top or (module.parent is not None and inside[module.parent])
    return [index for index, flag in enumerate(inside) if flag]


def unneeded_packages(
    modules: Sequence[ImportedModule],
    handler: str,
    *,
    loaded: Collection[str],
    used: Collection[str],
    project: Collection[str],
) -> list[UnneededPackage]:
    """Unneeded third-party packages of one handler's import, costliest first."""
    used_names = with_packages(used)
    roots: dict[int, int] = {}
    importers: dict[int, str] = {}
    members: dict[int, list[int]] = defaultdict(list)
    for index in handler_imports(modules, handler):
        module = modules[index]
        if module.name not in loaded or module.name in used_names or module.parent is None:
            continue
        parent = modules[module.parent]
        package = top_level(module.name)
        if is_project(parent.name, project):
            if is_project(module.name, project) or package in sys.stdlib_module_names or package in used_names:
                continue
            roots[index] = index
            importers[index] = parent.name
        elif module.parent in roots:
            roots[index] = roots[module.parent]
        else:
            continue
        members[roots[index]].append(index)
    by_package: dict[str, UnneededPackage] = {}
    for root, indexes in members.items():
        name = top_level(modules[root].name)
        brought = {top_level(modules[index].name) for index in indexes} - {name} - sys.stdlib_module_names
        earlier = by_package.get(name)
        by_package[name] = UnneededPackage(
            name,
            earlier.imported_by if earlier else importers[root],
            (earlier.self_us if earlier else 0) + sum(modules[index].self_us for index in indexes),
            tuple(sorted(brought | set(earlier.brought if earlier else ()))),
        )
    return sorted(by_package.values(), key=lambda package: package.self_us, reverse=True)


def imported_us(modules: Sequence[ImportedModule], name: str) -> int:
    """The cumulative import time of the first import of `name`."""
    return next(module.cumulative_us for module in modules if module.name == name)
