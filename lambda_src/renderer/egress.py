"""The renderer's egress proxy: every connection Chromium opens goes to an address checked here, and only there.

Why a proxy and not a check in Playwright's route handler: by Playwright's own documentation a route sees only
the first URL of a redirect chain and never sees WebSockets, a service worker's requests or connections opened
without an HTTP request; and a check that resolves a name itself is undone by DNS rebinding (the browser resolves
again and gets another answer). Headless renderers have been broken exactly this way (Rendertron CVE-2020-8902,
Gotenberg's 2024-2026 advisories: IPv4-mapped IPv6, redirects, DNS rebinding, 6to4 / NAT64 spellings). On Lambda
the prize is the runtime API on 127.0.0.1:9001 (read or answer other invocations) and the link-local ranges.

So Chromium is launched with this proxy as its only way out (``--proxy-server``, loopback included with
``<-loopback>``, its own resolver mapped to nothing: see ``browser.LAUNCH_ARGS``), and for each connection the
proxy resolves the host once, refuses it unless every address is global in every spelling (``refusal``), and
connects to exactly the address it checked. Redirect hops, subresources, frames, workers, WebSockets and event
streams are all just connections here. The proxy runs on 127.0.0.1 in its own thread for the life of the execution
environment.

The only test seams are ``resolve`` and ``connect`` (tests answer names and stand in for "the internet" on
loopback) and ``exempt`` (the test site's exact loopback address and port); ``exempt`` is refused on Lambda.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import threading
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger

from . import config as cfg

logger = Logger(service=cfg.SERVICE_NAME, child=True)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], Awaitable[list[str]]]
Connect = Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]

HEAD_LIMIT = 64 * 1024  # a request head larger than this is not a browser's
HEAD_TIMEOUT_S = 10
CONNECT_TIMEOUT_S = 5
REFUSED_HEADER = "x-egress-refused"  # on the proxy's own 403, so a refusal is not taken for the site's answer
HOP_BY_HOP = frozenset({"proxy-connection", "proxy-authorization", "connection", "keep-alive", "te", "trailer"})

# Ranges ipaddress calls global (or does not judge) that still lead somewhere we must not go: IPv6 forms that carry
# an IPv4 address (the embedded one is what a translator or relay reaches) and IPv6 transition prefixes.
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: is_global in Python, reaches the IPv4 inside
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: local-use translation
SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")  # RFC 3056: the IPv4 is bits 16-48
TEREDO = ipaddress.IPv6Network("2001::/32")  # RFC 4380: the client's IPv4 is the last 32 bits, inverted
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291, deprecated: ::127.0.0.1 is not loopback to ipaddress


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64_WELL_KNOWN or ip in IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def refusal(address: str) -> str | None:
    """Why ``address`` (a resolved address or an IP literal) may not be connected to, or None if it is global."""
    try:
        ip: Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and not (ip.is_loopback or ip.is_unspecified):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            # Never connect to a transition form, whatever it carries: reaching a global IPv4 this way is
            # nothing a page needs, and the form exists to reach what the check would refuse.
            why = refusal(str(inner))
            return f"{ip} carries IPv4 {inner}" + (f" ({why})" if why else " (transition form)")
        if ip in NAT64_LOCAL:
            return f"{ip} is local-use NAT64"
    if ip.is_loopback:
        return f"{ip} is loopback"
    if ip.is_link_local:
        return f"{ip} is link-local (instance metadata)"
    if ip.is_multicast:
        return f"{ip} is multicast"
    if ip.is_unspecified:
        return f"{ip} is unspecified"
    if not ip.is_global:
        return f"{ip} is not global (private, CGNAT, reserved or documentation)"
    return None


def literal_address(host: str) -> str | None:
    """The address a host names by itself, in canonical form, or None for a name.

    Short, decimal, octal and hex IPv4 spellings (``127.1``, ``2130706433``, ``0177.0.0.1``, ``0x7f.1``) are
    read the way the C resolver reads them, so the check sees the address they really name.
    """
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(bare.split("%", 1)[0]))
    except ValueError:
        pass
    if bare and all(c in "0123456789abcdefxABCDEFX." for c in bare):
        try:
            return socket.inet_ntoa(socket.inet_aton(bare))
        except OSError:
            return None
    return None


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def system_connect(address: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(address, port, limit=HEAD_LIMIT)


class Refused(Exception):
    """A connection the proxy will not make; the message names the host and the reason."""


@dataclass
class EgressProxy:
    """A forward (absolute-form) and CONNECT proxy on 127.0.0.1 that connects only to checked addresses."""

    resolve: Resolve = system_resolve
    connect: Connect = system_connect
    exempt: Collection[tuple[str, int]] = ()  # exact (address, port) pairs; tests only, refused on Lambda
    refused: list[str] = field(default_factory=list)  # the last refusals, newest last (tests and logs)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.exempt and os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
            raise ValueError(
                "EgressProxy.exempt is a test seam: it is refused on Lambda (AWS_LAMBDA_FUNCTION_NAME set)"
            )
        self.exempt = frozenset((str(ipaddress.ip_address(a)), int(p)) for a, p in self.exempt)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EgressProxy:
        thread = self._thread = threading.Thread(target=self._run, name="egress-proxy", daemon=True)
        thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("egress proxy did not start")
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        server = loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0, limit=HEAD_LIMIT))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def checked(self, host: str, port: int) -> str:
        """The one address to connect to for ``host:port``: resolved once, every answer checked."""
        literal = literal_address(host)
        answers = [literal] if literal is not None else await self._answers(host, port)
        for answer in answers:
            if (str(ipaddress.ip_address(answer.split("%", 1)[0])), port) in self.exempt:
                continue
            why = refusal(answer)
            if why is not None:
                # Any bad answer refuses the name: a host that resolves to loopback among others is hostile.
                raise Refused(f"{host}:{port} -> {why}")
        return answers[0]

    async def _answers(self, host: str, port: int) -> list[str]:
        try:
            answers = await asyncio.wait_for(self.resolve(host, port), CONNECT_TIMEOUT_S)
        except (TimeoutError, OSError) as exc:
            raise Refused(f"{host}:{port} does not resolve ({type(exc).__name__})") from exc
        if not answers:
            raise Refused(f"{host}:{port} does not resolve")
        return answers

    def _refuse(self, why: str) -> None:
        self.refused.append(why)
        del self.refused[:-200]
        logger.warning("egress refused", extra={"reason": why})

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
            request_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
            method, target, version = request_line.split(" ", 2)
            if method.upper() == "CONNECT":
                host, port = _split_authority(target, 443)
                address = await self.checked(host, port)
                up_reader, upstream = await asyncio.wait_for(self.connect(address, port), CONNECT_TIMEOUT_S)
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await _pipe_both(reader, writer, up_reader, upstream)
                return
            parts = urlsplit(target)
            if parts.scheme not in ("http", "ws") or not parts.netloc:
                raise Refused(f"{target[:200]!r}: only absolute http URLs and CONNECT")
            host, port = _split_authority(parts.netloc.rsplit("@", 1)[-1], 80)
            address = await self.checked(host, port)
            up_reader, upstream = await asyncio.wait_for(self.connect(address, port), CONNECT_TIMEOUT_S)
            headers = [line for line in header_lines if line.split(":", 1)[0].strip().lower() not in HOP_BY_HOP]
            upgrade = any(line.split(":", 1)[0].strip().lower() == "upgrade" for line in header_lines)
            # One request per proxied connection: Chromium reuses a proxy connection for any host, and a second
            # request must not ride to the first one's checked address.
            headers.append("Connection: upgrade" if upgrade else "Connection: close")
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            lines = "".join(f"{h}\r\n" for h in headers)
            upstream.write(f"{method} {path} {version}\r\n{lines}\r\n".encode("latin-1"))
            await upstream.drain()
            await _pipe_both(reader, writer, up_reader, upstream, close_response=not upgrade)
        except Refused as exc:
            self._refuse(str(exc))
            await _answer(writer, b"403 Forbidden", REFUSED_HEADER.encode() + b": 1\r\n")
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            await _answer(writer, b"502 Bad Gateway")
        finally:
            for w in (upstream, writer):
                if w is not None:
                    w.close()


def _split_authority(authority: str, default_port: int) -> tuple[str, int]:
    if authority.startswith("["):
        end = authority.index("]")
        host, rest = authority[: end + 1], authority[end + 1 :]
        port = int(rest[1:]) if rest.startswith(":") else default_port
        return host[1:-1], port
    host, _, port = authority.partition(":")
    if not host:
        raise ValueError("empty host")
    return host.lower(), int(port) if port else default_port


async def _answer(writer: asyncio.StreamWriter, status: bytes, extra: bytes = b"") -> None:
    try:
        writer.write(b"HTTP/1.1 " + status + b"\r\n" + extra + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
    except OSError:
        pass


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    finally:
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass


async def _close_response(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Relay a response with ``Connection: close`` so Chromium sends no second request on this connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
        return
    lines = head[:-4].split(b"\r\n")
    kept = [lines[0]] + [
        line for line in lines[1:] if line.split(b":", 1)[0].strip().lower() not in (b"connection", b"keep-alive")
    ]
    writer.write(b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n")
    await _copy(reader, writer)


async def _pipe_both(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
    close_response: bool = False,
) -> None:
    downstream = _close_response(up_reader, client_writer) if close_response else _copy(up_reader, client_writer)
    up = asyncio.ensure_future(_copy(client_reader, up_writer))
    await downstream
    up.cancel()


_proxy: EgressProxy | None = None
_lock = threading.Lock()


def shared_proxy() -> EgressProxy:
    """The execution environment's proxy: production settings unless a test installed its own (``install``)."""
    global _proxy
    with _lock:
        if _proxy is None:
            _proxy = EgressProxy().start()
        return _proxy


def install(proxy: EgressProxy | None) -> EgressProxy | None:
    """Replace the shared proxy (tests); returns the previous one, which the caller stops."""
    global _proxy
    with _lock:
        previous, _proxy = _proxy, proxy
    return previous
