"""`make diagram`: the stack's architecture, drawn from its snapshot."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from review import diagram
from tests.conftest import ROOT
from tests.review.snapshots import web_stack

SVG = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def cluster_texts(svg: pathlib.Path) -> list[str]:
    """The text of every cluster box Graphviz drew."""
    root = ET.parse(svg).getroot()
    return [
        " ".join(t.text or "" for t in g.iter(f"{SVG}text"))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "cluster"
    ]


@pytest.fixture(scope="module")
def prod_diagram(shipped_preview, tmp_path_factory):
    preview = shipped_preview("prod")
    out = tmp_path_factory.mktemp("diagram") / "prod"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "review",
            "diagram",
            "--stack",
            "prod",
            "--snapshot",
            str(preview.snapshot_path),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return preview.snapshot, out


def test_prod_diagram_has_a_cluster_for_every_component(prod_diagram):
    snapshot, out = prod_diagram
    components = [r for r in snapshot["resources"] if not r["custom"]]
    assert components, "the prod snapshot has no components to draw"
    clusters = cluster_texts(out.with_suffix(".svg"))
    for comp in components:
        assert any(comp["name"] in text and comp["type"] in text for text in clusters), (
            f"{comp['type']} {comp['name']} has no cluster in the diagram"
        )


def test_prod_diagram_writes_a_valid_png_svg_and_dot(prod_diagram):
    _, out = prod_diagram
    assert out.with_suffix(".png").read_bytes()[:8] == PNG_MAGIC
    assert ET.parse(out.with_suffix(".svg")).getroot().tag == f"{SVG}svg"
    assert out.with_name("prod.dot").read_text().startswith("digraph")


def test_prod_diagram_shows_the_main_resources_and_not_the_noise(prod_diagram):
    snapshot, _ = prod_diagram
    arch = diagram.Architecture(snapshot)
    drawn = {urn for node in arch.nodes.values() for urn in node["urns"]}
    for r in snapshot["resources"]:
        if r["type"] in ("aws:ec2/vpc:Vpc", "aws:ecs/service:Service", "aws:docdb/cluster:Cluster"):
            assert r["urn"] in drawn
        if r["type"] in (
            "aws:ec2/routeTableAssociation:RouteTableAssociation",
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "aws:iam/rolePolicy:RolePolicy",
        ):
            assert r["urn"] not in drawn


def edges(arch: diagram.Architecture) -> dict[tuple[str, str], dict]:
    """Edges keyed by (source, target) resource name, for a snapshot with one resource per node."""
    name = {node: arch.by_urn[attrs["urns"][0]]["name"] for node, attrs in arch.nodes.items()}
    name[diagram.INTERNET] = "Internet"
    return {(name[s], name[t]): e for (s, t), e in arch.edges.items()}


def test_traffic_paths_follow_listeners_target_groups_and_security_group_rules():
    snapshot, _urns = web_stack()
    found = edges(diagram.Architecture(snapshot))
    traffic = {pair for pair, e in found.items() if e["kind"] == "traffic"}
    assert {("Internet", "cdn"), ("cdn", "alb"), ("cdn", "spa"), ("alb", "api-tg"), ("api-tg", "api")} <= traffic
    assert found[("alb", "api")]["labels"] == {"tcp/8080"}
    assert found[("api", "docdb")]["labels"] == {"tcp/27017"}
    assert found[("Internet", "alb")]["labels"] == {"tcp/443"}
    assert found[("api", "cluster")]["kind"] == "uses"  # the service runs on its cluster: a dependency, not traffic
    assert found[("api", "api-images")]["kind"] == "uses"  # found through the task definition in between
    assert ("api", "vpc") not in found  # everything sits in the VPC: not drawn


def test_a_component_with_nothing_to_draw_still_gets_its_cluster(tmp_path):
    snapshot, _ = web_stack()
    diagram.render(snapshot, tmp_path / "web")
    assert any("alarms" in t and "platform:monitoring:Alarms" in t for t in cluster_texts(tmp_path / "web.svg"))
    assert "1 resource" in (tmp_path / "web.dot").read_text()
