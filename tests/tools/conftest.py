"""The tools run against moto's server on loopback: the same fixtures as lambda_src's tests, reset per test."""

import urllib.request

import pytest

from tests.lambda_src.conftest import aws_env, moto_endpoint  # noqa: F401  (pytest fixtures)


@pytest.fixture
def fresh_aws(aws_env: str) -> str:  # noqa: F811
    """An empty moto account: the session's server forgets what earlier tests created."""
    urllib.request.urlopen(urllib.request.Request(f"{aws_env}/moto-api/reset", method="POST"), timeout=10).close()
    return aws_env


@pytest.fixture(scope="session")
def edge_corpora_routed():
    """Every user agent of every benchmark corpus through the real viewer-request function, once per session.

    One Node process classifies the ~200,000 strings (bench/edge_corpora.py); tests read the verdicts.
    Returns (corpora module, {user agent: sent to the renderer}).
    """
    import sys

    from tools import generate_edge_function as gen

    sys.path.insert(0, str(gen.ROOT / "bench"))
    import edge_corpora
    import edge_crawlers

    crawlers, browsers = edge_corpora.crawlers(), edge_corpora.browsers()
    everything = {ua for corpus in crawlers.values() for items in corpus.values() for ua, _ in items}
    everything |= {ua for uas in browsers.values() for ua in uas}
    return edge_corpora, edge_crawlers.edge_routes(gen.SOURCE / "viewer_request.js", sorted(everything))
