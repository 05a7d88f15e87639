"""The bridge to the simulator: each distinct question asked once, every access answered, and the simulator's
string comparisons as the built-in makes them (access/simulator.py, access/node/collators.mjs)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from access import simulator


def test_each_distinct_simulation_is_asked_once_and_every_access_gets_its_own_verdict(evidence):
    prod = evidence("prod")
    pulls = prod.simulate(kind="pull")
    creates = prod.simulate(kind="create", action="ecs:CreateCluster")
    asked = [v.access for v in (*pulls, *creates, *pulls)]  # the pulls twice: the same questions again
    run = simulator.Run(asked)
    verdicts = run.verdicts()
    assert [v.access for v in verdicts] == asked
    distinct = {json.dumps(a.simulation()) for a in asked}
    assert run._sent == len(distinct) < len(asked)
    assert [(v.result, v.denials, v.grants) for v in verdicts] == [
        (v.result, v.denials, v.grants) for v in (*pulls, *creates, *pulls)
    ]


def test_a_started_simulator_nobody_asks_is_closed_without_a_trace():
    started = simulator.Simulator()
    started.close()
    assert started.process.returncode is not None


# The comparisons iam-simulate makes (case-insensitive names: operators, actions, resource types), and some that
# differ only in accents, case, width or length, under the options it passes and under none.
_COMPARE = r"""
import { readFileSync } from 'node:fs'
const builtin = String.prototype.localeCompare
const pairs = JSON.parse(readFileSync(0, 'utf8'))
const options = [undefined, { sensitivity: 'accent' }, { sensitivity: 'base' }, { sensitivity: 'case' }]
const locales = [undefined, 'en', 'tr']
const expected = []
for (const [a, b] of pairs) for (const l of locales) for (const o of options) expected.push(builtin.call(a, b, l, o))
await import('./collators.mjs')
const got = []
for (const [a, b] of pairs) for (const l of locales) for (const o of options) got.push(a.localeCompare(b, l, o))
for (const [a, b] of pairs) for (const l of locales) for (const o of options) got.push(a.localeCompare(b, l, o))
console.log(JSON.stringify({ expected, got, patched: String.prototype.localeCompare !== builtin }))
"""


def test_the_simulators_kept_collators_compare_as_the_built_in_does():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the access simulation needs it)")
    pairs = [
        ("StringEqualsIfExists", "IfExists"),
        ("stringequals", "StringEquals"),
        ("ForAllValues", "forallvalues"),
        ("s3:GetObject", "S3:getobject"),
        ("ecr:BatchGetImage", "ecr:BatchGetImages"),
        ("resume", "résumé"),
        ("Résumé", "resume"),
        ("I", "ı"),
        ("straße", "STRASSE"),
        ("", ""),
        ("a", ""),
        ("arn:aws:iam::*:role/org-*", "ARN:AWS:IAM::*:ROLE/ORG-*"),
    ]
    proc = subprocess.run(
        [node, "--input-type=module", "-e", _COMPARE],
        cwd=simulator.NODE_DIR,
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(proc.stdout)
    assert result["patched"], "collators.mjs did not replace localeCompare: the test compares nothing"
    assert result["got"] == result["expected"] * 2
    assert len(set(result["expected"])) == 3, "the pairs should include smaller, equal and greater"
