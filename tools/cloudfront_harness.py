"""Run a CloudFront Function's real code in Node (tools/cloudfront_harness.mjs) from Python: tests and benchmarks."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

HARNESS = pathlib.Path(__file__).resolve().with_name("cloudfront_harness.mjs")


def node() -> str:
    found = shutil.which("node")
    if found is None:
        raise FileNotFoundError("node is not installed: CloudFront Functions are tested by running them in Node")
    return found


def run(
    function: pathlib.Path, kvs: Mapping[str, str], events: Iterable[Mapping[str, Any]], *, calls_only: bool = False
) -> list[dict[str, Any]]:
    """Each event through the function; returns {"result", "calls"} per event, in order ({"calls"} if calls_only)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(dict(kvs), handle)
        kvs_path = handle.name
    try:
        stdin = "".join(json.dumps(e) + "\n" for e in events)
        proc = subprocess.run(
            [node(), str(HARNESS), str(function), kvs_path, *(["--calls-only"] if calls_only else [])],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        pathlib.Path(kvs_path).unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the function failed in Node:\n{proc.stderr}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def viewer_request(
    uri: str = "/",
    user_agent: str = "",
    *,
    host: str = "shop.example.com",
    method: str = "GET",
    querystring: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    cookies: Mapping[str, str] | None = None,
    request_id: str = "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
    crawler_check: str = "verified",
) -> dict[str, Any]:
    """CloudFront Functions' documented viewer-request event (header names lower case, values in {value}).

    ``crawler_check`` is what the distribution's web ACL inserts on every request (components/web_acl.py):
    "verified" is Bot Control's answer for a crawler from its operator's own addresses (a person's request is never
    labelled a verified bot, and the function reads the user agent first); tests of spoofed crawlers pass
    "unverified".
    """
    all_headers = {
        "host": host,
        **({"user-agent": user_agent} if user_agent else {}),
        "x-amzn-waf-crawler": crawler_check,
        **(headers or {}),
    }
    return {
        "version": "1.0",
        "context": {
            "distributionDomainName": "d111111abcdef8.cloudfront.net",
            "distributionId": "EDFDVBD6EXAMPLE",
            "eventType": "viewer-request",
            "requestId": request_id,
        },
        "viewer": {"ip": "198.51.100.11"},
        "request": {
            "method": method,
            "uri": uri,
            "querystring": {k: {"value": v} for k, v in (querystring or {}).items()},
            "headers": {k.lower(): {"value": v} for k, v in all_headers.items()},
            "cookies": {k: {"value": v} for k, v in (cookies or {}).items()},
        },
    }


def viewer_response(
    request: Mapping[str, Any], *, status: int = 200, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The viewer-response event for a viewer-request event's request."""
    return {
        **request,
        "context": {**request["context"], "eventType": "viewer-response"},
        "response": {
            "statusCode": status,
            "statusDescription": "OK",
            "headers": {k.lower(): {"value": v} for k, v in (headers or {}).items()},
            "cookies": {},
        },
    }


def node_version() -> str:
    return subprocess.run([node(), "--version"], capture_output=True, text=True, check=True).stdout.strip()
