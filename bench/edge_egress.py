"""Benchmark: hostile pages of the allowed site against a loopback canary, with and without the egress proxy.

Run from the repository root:  python bench/edge_egress.py
The same pages, canary and test world as tests/lambda_src/test_egress.py (their conftest): each attack path is
rendered once by the renderer (egress proxy) and once by a plain Chromium without it (what a renderer with no
egress control lets through); the canary counts TCP connections and UDP datagrams. No S3: the cache is off.
Prints a Markdown table and writes bench/results/edge_egress.json.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.edge_renderer import load_test_support  # noqa: E402  (the path above first)


def main() -> int:
    started = time.monotonic()
    support = load_test_support()
    canary, close_canary = support.start_canary()
    site, close_site = support.start_hostile_site(canary)
    world = support.TestWorld(canary=canary, public=(site.host, site.port))
    proxy = support.install_test_proxy(world, site)
    os.environ.update(
        {"SITE_ORIGINS": site.origin, "CACHE_BUCKET": "", "RENDER_TIMEOUT_MS": "10000", "POWERTOOLS_LOG_LEVEL": "ERROR"}
    )
    os.environ.pop("CHROMIUM_PATH", None)
    from lambda_src.renderer import browser, config, egress, handler

    config.reload_config()
    paths = [*support.HOSTILE_PATHS, support.TOP_LEVEL_REDIRECT]
    rows: list[dict] = []
    try:
        plain = browser.playwright_instance().chromium.launch(executable_path=support.CHROMIUM, args=["--no-sandbox"])
        for name in paths:
            uri = "/away" if name == support.TOP_LEVEL_REDIRECT else f"/hostile/{support.hostile_slug(name)}"
            before, refused_before = canary.total(), len(proxy.refused)
            with contextlib.redirect_stdout(io.StringIO()):
                response = handler.handler(
                    {
                        "rawPath": uri,
                        "requestContext": {"http": {"method": "GET"}},
                        "headers": {"x-prerender-host": site.netloc},
                    }
                )
            defended = canary.total() - before
            rendered = (
                response["statusCode"] == 302
                if name == support.TOP_LEVEL_REDIRECT
                else response["statusCode"] == 200 and f"rendered: {name}" in response["body"]
            )
            before = canary.total()
            page = plain.new_page()
            with contextlib.suppress(Exception):
                page.goto(site.origin + uri, timeout=5000)
                page.wait_for_function("() => window.prerenderReady === true", timeout=5000)
            page.close()
            rows.append(
                {
                    "path": name,
                    "canary_with_proxy": defended,
                    "canary_without": canary.total() - before,
                    "refused": len(proxy.refused) - refused_before,
                    "rendered": rendered,
                    "status": response["statusCode"],
                }
            )
        plain.close()
    finally:
        browser.shutdown()
        egress.install(None)
        proxy.stop()
        close_site()
        close_canary()

    print("| attack path | renderer: canary hits | proxy refusals | rendered | plain Chromium: canary hits |")
    print("|---|---:|---:|:---:|---:|")
    for r in rows:
        print(
            f"| {r['path']} | {r['canary_with_proxy']} | {r['refused']} | {'yes' if r['rendered'] else 'NO'} "
            f"| {r['canary_without']} |"
        )
    reached = sum(r["canary_with_proxy"] for r in rows)
    open_paths = sum(1 for r in rows if r["canary_without"])
    all_rendered = all(r["rendered"] for r in rows)
    print(f"\n_{len(rows)} paths, {reached} canary hits with the proxy; {time.monotonic() - started:.0f} s_")
    from tools import figures

    figures.record(
        "edge_egress",
        ".venv/bin/python bench/edge_egress.py",
        [
            figures.figure(
                "hostile",
                "hostile pages: attack paths tried / requests that reached the canary (each page still rendered)",
                f"{len(rows)} paths / {reached} requests",
                "0 requests, every page rendered",
                reached == 0 and all_rendered,
                paths=len(rows),
                reached=reached,
            ),
            figures.figure(
                "undefended",
                "the same pages in Chromium without the proxy: paths that reached the canary",
                f"{open_paths} of {len(rows)}",
                "(before)",
                True,
            ),
        ],
        paths=rows,
    )
    return 0 if reached == 0 and all_rendered else 1


if __name__ == "__main__":
    sys.exit(main())
