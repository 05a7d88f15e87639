"""README.md and docs/performance.md show what the benchmarks measured (bench/results/*.json), on today's stacks."""

from __future__ import annotations

import copy

import pytest

from tools import figures

DRIFT = "{page} is out of date with bench/results/*.json: run `make docs`"


@pytest.fixture(scope="module")
def data() -> dict:
    return figures.load()


@pytest.mark.parametrize("table", list(figures.TABLES))
def test_each_page_shows_the_table_its_benchmark_data_makes(table, data):
    page, render = figures.TABLES[table]
    assert figures.section(page.read_text(encoding="utf-8"), table) == render(data), DRIFT.format(page=page.name)


def test_every_results_file_says_what_ran_where_and_when(data):
    assert data, "no bench/results/*.json at all"
    for harness, result in data.items():
        assert result["harness"] == harness
        assert result["command"].startswith(".venv/bin/python bench/"), harness
        assert result["date"][:2] == "20" and result["date"].endswith("Z"), harness
        assert {"cpus", "memory_gb", "python"} <= set(result["machine"]), harness
        keys = [f["key"] for f in result["figures"]]
        assert keys and len(keys) == len(set(keys)), harness


def _stack_figures(data: dict) -> list[tuple[str, str, str, int, int | None]]:
    """(harness, key, stack, resources, exit code) for every figure measured on a shipped stack."""
    return [
        (harness, row["key"], row["values"]["stack"], row["values"]["resources"], row["values"].get("exit_code"))
        for harness, result in data.items()
        for row in result["figures"]
        if "stack" in row["values"] and "resources" in row["values"]
    ]


def test_figures_on_a_shipped_stack_were_measured_on_todays_preview_of_it(data, shipped_preview):
    """The resource count and exit code a figure recorded are what the stack previews to today (the suite's own
    shared previews): a stack that grew, or that a judge now fails, makes its figure stale until it is re-measured."""
    measured = _stack_figures(data)
    assert any(stack == "prod" for _, _, stack, _, _ in measured), "the prod preview figure names its stack and count"
    assert all(code is not None for *_, code in measured), "every figure on a stack records its exit code"
    stale = []
    for harness, key, stack, resources, code in measured:
        today = shipped_preview(stack)
        if (resources, code) != (len(today.resources()), today.exit_code):
            stale.append(
                f"{harness}.{key}: {stack} measured with {resources} resources, exit {code}; "
                f"today {len(today.resources())} resources, exit {today.exit_code}"
            )
    assert not stale, "rerun the benchmark, then `make docs`:\n" + "\n".join(stale)


def test_a_changed_measurement_changes_both_tables(data):
    changed = copy.deepcopy(data)
    row = next(r for r in changed["preview_and_policy"]["figures"] if r["key"] == "preview_wall")
    row["measured"] = "99.99 s"
    for _table, (_page, render) in figures.TABLES.items():
        assert render(changed) != render(data)
        assert "99.99 s" in render(changed)


def test_a_harness_without_data_says_so_instead_of_keeping_old_numbers(data):
    without = {h: d for h, d in data.items() if h != "cost_model"}
    assert "no data: run `.venv/bin/python bench/cost_model.py`" in figures.performance_table(without)
    assert "no data" in figures.readme_table(without)


def test_a_missed_target_is_marked_in_both_tables(data):
    changed = copy.deepcopy(data)
    row = next(r for r in changed["preview_and_policy"]["figures"] if r["key"] == "preview_wall")
    row["met"] = False
    assert "**no**" in figures.performance_table(changed)
    assert "(**not met**)" in figures.readme_table(changed)


def test_every_readme_row_names_a_figure_its_harness_can_write(data):
    for spec in figures.README_ROWS:
        assert spec.harness in figures.HARNESSES
        if spec.harness in data:
            assert set(spec.keys) <= {r["key"] for r in data[spec.harness]["figures"]}, spec


def test_a_changed_table_is_spliced_in_and_the_rest_of_the_page_kept():
    begin, end = figures.BEGIN.format(table="t"), figures.END.format(table="t")
    page = f"intro\n{begin}\n| old |\n{end}\noutro\n"
    updated = figures.splice(page, "t", "| new |\n")
    assert updated == f"intro\n{begin}\n| new |\n{end}\noutro\n"
    with pytest.raises(ValueError, match="lacks the markers"):
        figures.section("no markers\n", "t")


def test_duplicate_figure_keys_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "RESULTS", tmp_path)
    row = figures.figure("k", "a figure", "1 s", "-", True)
    with pytest.raises(ValueError, match="unique"):
        figures.record("scale", "cmd", [row, row])
    assert not list(tmp_path.iterdir())
