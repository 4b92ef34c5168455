"""The module import graph of the project has no cycle, lazy imports included (``manage.py import_graph``)."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command

from highlights.management.commands.import_graph import import_cycles, import_graph


def test_cycles_are_the_strongly_connected_components() -> None:
    graph = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e"], "f": ["d"]}
    assert import_cycles(graph) == [["a", "b", "c"]]


def test_the_project_has_no_import_cycle_and_the_layers_point_one_way() -> None:
    graph = import_graph()
    assert "highlights.dispatch" in graph and "indexer.steps" in graph
    assert "highlights.tasks" in graph["highlights.apps"], "an import inside a function is in the graph"
    assert import_cycles(graph) == []
    domain = ("highlights.services", "highlights.learning", "highlights.backfill", "highlights.people")
    assert not [(m, i) for m in domain for i in graph[m] if i.endswith(".tasks") or i == "highlights.dispatch"]
    out = StringIO()
    call_command("import_graph", "--json", stdout=out)
    assert json.loads(out.getvalue())["cycles"] == []
