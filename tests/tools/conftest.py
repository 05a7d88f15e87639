"""The tools run against moto's server on loopback: the same fixtures as lambda_src's tests, reset per test."""

import urllib.request

import pytest

from tests.lambda_src.conftest import aws_env, moto_endpoint  # noqa: F401  (pytest fixtures)


@pytest.fixture
def fresh_aws(aws_env: str) -> str:  # noqa: F811
    """An empty moto account: the session's server forgets what earlier tests created."""
    urllib.request.urlopen(urllib.request.Request(f"{aws_env}/moto-api/reset", method="POST"), timeout=10).close()
    return aws_env
