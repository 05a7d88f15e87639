"""Benchmark: edge router latency, crawler detection, renderer HIT/MISS, memory.

Run from the repository root:  python bench/edge_renderer.py
Everything runs in-process or on loopback (fixture SPA + moto S3 + Debian
Chromium at /usr/bin/chromium); loops are bounded; finishes in ~1 minute.
Prints a Markdown table: figure | measured | target | met?
"""

from __future__ import annotations

import copy
import importlib.util
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EDGE_EVENTS_PER_KIND = 10_000
MISS_RUNS = 10
HIT_RUNS = 30

GOOGLEBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/131.0.6778.204 Safari/537.36"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def _load_test_support() -> ModuleType:
    """Reuse the test suite's fixture SPA and event builders (plain functions)."""
    path = ROOT / "tests" / "lambda_src" / "conftest.py"
    spec = importlib.util.spec_from_file_location("lambda_bench_support", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def bench_edge(support: ModuleType) -> dict[str, tuple[float, float]]:
    from lambda_src.edge_router import handler as edge

    edge.configure({"renderer_domain": "abc123.execute-api.us-east-1.amazonaws.com", "renderer_token": "t"})

    def headers_for(ua: str) -> dict[str, list[dict[str, str]]]:
        return support.cf_headers(
            host="www.example.com",
            user_agent=ua,
            accept="text/html",
            accept_language="en-US",
        )

    bot_marked = headers_for(GOOGLEBOT)
    bot_marked["x-prerender"] = [{"key": "X-Prerender", "value": "1"}]
    bot_marked["x-prerender-host"] = [{"key": "X-Prerender-Host", "value": "www.example.com"}]
    kinds = {
        "viewer-request, crawler page": support.cf_event(
            "viewer-request", "/articles/launch", headers_for(GOOGLEBOT), "a=1"
        ),
        "viewer-request, human page": support.cf_event(
            "viewer-request", "/articles/launch", headers_for(CHROME), "a=1"
        ),
        "viewer-request, crawler static asset": support.cf_event(
            "viewer-request", "/static/main.4f1c.js", headers_for(GOOGLEBOT)
        ),
        "origin-request, crawler (switch origin)": support.cf_event(
            "origin-request", "/articles/launch", bot_marked, origin=support.S3_ORIGIN
        ),
    }
    results = {}
    for name, template in kinds.items():
        events = [copy.deepcopy(template) for _ in range(EDGE_EVENTS_PER_KIND)]
        timings = []
        clock = time.perf_counter_ns
        for event in events:
            started = clock()
            edge.handler(event, None)
            timings.append((clock() - started) / 1000)
        results[name] = (statistics.median(timings), _percentile(timings, 99))
    edge.configure(None)
    return results


def bench_detection(support: ModuleType) -> tuple[float, float, int, int]:
    from lambda_src.edge_router.bots import is_prerender_bot

    crawlers = support.read_lines("crawler_user_agents.txt")
    browsers = support.read_lines("browser_user_agents.txt")
    detected = sum(map(is_prerender_bot, crawlers))
    false_pos = sum(map(is_prerender_bot, browsers))
    return detected / len(crawlers), false_pos / len(browsers), len(crawlers), len(browsers)


class _PeakRss:
    """Samples memory of this process plus its children (Playwright driver,
    Chromium) every 50 ms, excluding the moto server process.

    Uses PSS (proportional set size): Chromium's processes share most of their
    pages (binary, libraries), so summed RSS double-counts them; PSS splits
    shared pages between sharers and sums to what the cgroup actually holds.
    RSS is summed too, as an upper bound.
    """

    def __init__(self, exclude: int | None = None) -> None:
        import psutil

        self._psutil = psutil
        self._exclude = exclude
        self.peak = 0
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = self._psutil.Process()
        excluded = set()
        if self._exclude:
            try:
                moto = self._psutil.Process(self._exclude)
                excluded = {self._exclude} | {p.pid for p in moto.children(recursive=True)}
            except self._psutil.NoSuchProcess:
                pass
        pss = rss = 0
        for proc in [me, *me.children(recursive=True)]:
            if proc.pid in excluded:
                continue
            try:
                info = proc.memory_full_info()
            except (self._psutil.NoSuchProcess, self._psutil.AccessDenied):
                continue
            pss += getattr(info, "pss", info.rss)
            rss += info.rss
        self.peak_rss = max(self.peak_rss, rss)
        return pss

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def _start_moto(port: int):
    """moto in its own process, so its memory is not counted as the renderer's."""
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto server did not start")


def bench_renderer(support: ModuleType) -> dict[str, float]:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import boto3

    if not os.path.exists(os.environ.get("CHROMIUM_PATH") or support.CHROMIUM):
        raise SystemExit("Chromium not found: apt-get install -y chromium")

    # A placeholder handler: the SPA's own needs the port, known only once the server is bound (below).
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    spa = support.SpaServer(host="127.0.0.1", port=server.server_address[1])
    server.RequestHandlerClass = support._make_spa_handler(spa)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()

    port = support.free_port()
    moto = _start_moto(port)
    endpoint = f"http://127.0.0.1:{port}"
    bucket = f"bench-{uuid.uuid4().hex[:10]}"
    token = uuid.uuid4().hex
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
            "SITE_ORIGINS": spa.origin,
            "CACHE_BUCKET": bucket,
            "RENDER_TOKEN": token,
            # Per-request INFO logs would drown the table; warnings still show.
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    for var in ("AWS_PROFILE", "RENDER_TOKEN_SECRET_ARN", "CHROMIUM_PATH"):
        os.environ.pop(var, None)
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)

    from lambda_src.renderer import browser, config, handler

    config.reload_config()

    def event(path: str) -> dict:
        return {
            "rawPath": path,
            "rawQueryString": "",
            "requestContext": {"http": {"method": "GET"}},
            "headers": {"x-prerender-token": token, "x-prerender-host": spa.netloc},
        }

    def timed(path: str) -> tuple[dict, float]:
        started = time.perf_counter()
        response = handler.handler(event(path), None)
        return response, (time.perf_counter() - started) * 1000

    import contextlib
    import io

    results: dict[str, float] = {}
    try:
        # The renderer logs JSON + EMF to stdout; keep the table readable.
        with contextlib.redirect_stdout(io.StringIO()), _PeakRss(exclude=moto.pid) as rss:
            cold, results["cold_ms"] = timed("/articles/cold")
            assert cold["statusCode"] == 200, cold
            misses = []
            for i in range(MISS_RUNS):
                response, ms = timed(f"/articles/bench-{i}")
                assert response["statusCode"] == 200 and response["headers"]["x-prerender-cache"] == "MISS"
                misses.append(ms)
            hits = []
            for _ in range(HIT_RUNS):
                response, ms = timed("/articles/bench-0")
                assert response["headers"]["x-prerender-cache"] == "HIT"
                hits.append(ms)
        results["miss_median_ms"] = statistics.median(misses)
        results["hit_median_ms"] = statistics.median(hits)
        results["peak_pss_mb"] = rss.peak / 1024 / 1024
        results["peak_rss_mb"] = rss.peak_rss / 1024 / 1024
    finally:
        browser.shutdown()
        moto.terminate()
        moto.wait(timeout=10)
        server.shutdown()
    return results


def main() -> int:
    started = time.monotonic()
    support = _load_test_support()
    edge = bench_edge(support)
    detect, false_pos, n_crawlers, n_browsers = bench_detection(support)
    render = bench_renderer(support)

    rows = []
    for name, (median, p99) in edge.items():
        rows.append((f"edge {name}: median / p99", f"{median:.1f} / {p99:.1f} µs", "median ≤ 20 µs", median <= 20))
    rows.append((f"crawler detection ({n_crawlers} real crawler UAs)", f"{detect:.1%}", "≥ 95 %", detect >= 0.95))
    rows.append((f"browser false positives ({n_browsers} real browser UAs)", f"{false_pos:.0%}", "0 %", false_pos == 0))
    rows.append(("renderer cold first render (incl. Chromium launch)", f"{render['cold_ms']:.0f} ms", "(info)", True))
    rows.append(
        (
            f"renderer warm MISS (render) median, {MISS_RUNS} runs",
            f"{render['miss_median_ms']:.0f} ms",
            "≤ 1500 ms",
            render["miss_median_ms"] <= 1500,
        )
    )
    rows.append(
        (
            f"renderer S3 HIT median, {HIT_RUNS} runs",
            f"{render['hit_median_ms']:.1f} ms",
            "≤ 50 ms",
            render["hit_median_ms"] <= 50,
        )
    )
    rows.append(
        (
            "renderer peak memory, PSS (python + driver + Chromium)",
            f"{render['peak_pss_mb']:.0f} MB",
            "≤ 1024 MB",
            render["peak_pss_mb"] <= 1024,
        )
    )
    rows.append(
        (
            "renderer peak memory, summed RSS (upper bound, shared pages counted per process)",
            f"{render['peak_rss_mb']:.0f} MB",
            "(info)",
            True,
        )
    )

    print("| figure | measured | target | met? |")
    print("|---|---:|---|:---:|")
    for figure, measured, target, met in rows:
        print(f"| {figure} | {measured} | {target} | {'yes' if met else 'NO'} |")
    print(
        f"\n_python {sys.version.split()[0]}, {os.cpu_count()} CPUs, total bench time "
        f"{time.monotonic() - started:.0f} s_"
    )
    return 0 if all(row[3] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
