"""The offline preview runs the program with the collector's young passes only, and keeps its objects out of later
ones: at 200 services the full passes took 16 of the program's 44 s and freed next to nothing (issue 33)."""

from __future__ import annotations

import gc

from preview import program


def test_no_full_collection_runs_while_the_program_does_and_what_survives_is_frozen():
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    full_passes = []

    def count(phase, info):
        if phase == "start" and info["generation"] == 2:
            full_passes.append(info)

    gc.callbacks.append(count)
    try:
        with program._no_full_collections():
            survivors = []
            for i in range(300_000):  # many young passes' worth of objects that live to the end, as the SDK's do
                survivors.append({"output": [i]})
            assert gc.get_threshold()[:2] == before[:2], "young passes still free the short-lived cycles"
        assert not full_passes
        assert gc.get_freeze_count() >= frozen + len(survivors)
        assert gc.get_threshold() == before
    finally:
        gc.callbacks.remove(count)
        gc.unfreeze()
