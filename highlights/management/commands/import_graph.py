"""Print the project's module import graph and its import cycles (lazy imports inside functions included)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

PACKAGES = ("highlights", "indexer", "search", "ml")


def import_graph(packages: tuple[str, ...] = PACKAGES) -> dict[str, list[str]]:
    """Module → the project modules it imports, both sorted; migrations left out.

    Built with grimp (import-linter's graph library), which reads every ``import`` statement,
    including those inside functions, so lazy imports count.
    """
    import grimp  # a development tool (requirements-dev.txt): imported only when the command runs

    graph = grimp.build_graph(*packages, cache_dir=None)
    modules = sorted(m for m in graph.modules if ".migrations" not in m)
    kept = set(modules)
    return {m: sorted(kept & graph.find_modules_directly_imported_by(m)) for m in modules}


def import_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, each sorted, largest first.

    Every module of a component reaches every other one through imports: each component is one
    import cycle or several entangled ones. Empty when the import graph is acyclic.
    """
    import networkx  # installed with torch; pinned in requirements-dev.txt

    digraph = networkx.DiGraph([(m, i) for m, imported in graph.items() for i in imported])
    components = [sorted(c) for c in networkx.strongly_connected_components(digraph) if len(c) > 1]
    return sorted(components, key=lambda c: (-len(c), c))


class Command(BaseCommand):
    help = "Print the module import graph of highlights, indexer, search and ml, and every import cycle."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--cycles", action="store_true", help="print only the cycles")
        parser.add_argument("--json", action="store_true", help='one JSON object: {"graph": ..., "cycles": ...}')

    def handle(self, *args: Any, **options: Any) -> None:
        graph = import_graph()
        cycles = import_cycles(graph)
        if options["json"]:
            self.stdout.write(json.dumps({"graph": graph, "cycles": cycles}))
            return
        if not options["cycles"]:
            for module, imported in graph.items():
                self.stdout.write(f"{module} -> {', '.join(imported) if imported else '(nothing)'}")
            self.stdout.write("")
        edges = sum(len(v) for v in graph.values())
        self.stdout.write(f"{len(graph)} modules, {edges} imports between them, {len(cycles)} cycle(s)")
        for number, members in enumerate(cycles, start=1):
            inside = set(members)
            self.stdout.write(f"cycle {number} ({len(members)} modules):")
            for module in members:
                self.stdout.write(f"  {module} -> {', '.join(m for m in graph[module] if m in inside)}")
