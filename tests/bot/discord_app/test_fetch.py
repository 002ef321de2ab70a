"""add-url fetching: only public http(s) addresses, checked on every hop, with size, type and time limits."""
from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web

from bot.discord_app.fetch import AddressPolicy, UrlFetcher
from bot.errors import SourceRejected

HTML = b"<html><head><title>Local page</title></head><body><article><p>" + b"A sentence about detainers. " * 20 \
       + b"</p></article></body></html>"


class LocalSite:
    """An aiohttp server on 127.0.0.1 that records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        async def record(request: web.Request) -> None:
            self.requests.append((request.path, request.headers.get("Host", "")))

        async def page(request: web.Request) -> web.StreamResponse:
            await record(request)
            return web.Response(body=HTML, content_type="text/html")

        async def markdown(request: web.Request) -> web.StreamResponse:
            await record(request)
            return web.Response(text="# Notes\n\nPlain notes.", content_type="text/plain")

        async def image(request: web.Request) -> web.StreamResponse:
            await record(request)
            return web.Response(body=b"\x89PNG....", content_type="image/png")

        async def big(request: web.Request) -> web.StreamResponse:
            await record(request)
            response = web.StreamResponse(headers={"Content-Type": "text/plain"})
            response.enable_chunked_encoding()  # no Content-Length: the cap must count streamed bytes
            await response.prepare(request)
            for _ in range(40):
                await response.write(b"x" * 65536)
            await response.write_eof()
            return response

        async def big_declared(request: web.Request) -> web.StreamResponse:
            await record(request)
            return web.Response(body=b"y" * 200_000, content_type="text/plain")

        async def slow(request: web.Request) -> web.StreamResponse:
            await record(request)
            await asyncio.sleep(2)
            return web.Response(text="late", content_type="text/plain")

        def redirect(target: str):
            async def handler(request: web.Request) -> web.StreamResponse:
                await record(request)
                raise web.HTTPFound(target.format(port=self.port))
            return handler

        app = web.Application()
        app.router.add_get("/page.html", page)
        app.router.add_get("/notes.md", markdown)
        app.router.add_get("/image.png", image)
        app.router.add_get("/big", big)
        app.router.add_get("/big-declared", big_declared)
        app.router.add_get("/slow", slow)
        app.router.add_get("/to-page", redirect("/page.html"))
        app.router.add_get("/to-metadata", redirect("http://169.254.169.254/latest/meta-data/"))
        app.router.add_get("/to-loopback", redirect("http://127.0.0.2:{port}/page.html"))
        app.router.add_get("/to-file", redirect("file:///etc/passwd"))
        app.router.add_get("/loop", redirect("/loop"))
        return app


@pytest_asyncio.fixture
async def site() -> AsyncIterator[LocalSite]:
    site = LocalSite()
    runner = web.AppRunner(site.app())
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    site.port = tcp._server.sockets[0].getsockname()[1]
    try:
        yield site
    finally:
        await runner.cleanup()


def fetcher(allow_private: bool = False, *, max_bytes: int = 100_000, timeout: float = 5.0, **kwargs) -> UrlFetcher:
    return UrlFetcher(max_bytes=max_bytes, timeout_seconds=timeout, policy=AddressPolicy(allow_private, **kwargs.pop(
        "policy_kwargs", {})), **kwargs)


async def test_fetches_a_local_page_when_private_urls_are_allowed(site):
    document = await fetcher(allow_private=True).fetch(f"{site.base}/page.html")
    assert document.data == HTML and document.content_type == "text/html"
    assert document.filename.startswith("127-0-0-1-page-") and document.filename.endswith(".html")
    plain = await fetcher(allow_private=True).fetch(f"{site.base}/notes.md")
    assert plain.filename.endswith(".md")  # text/plain from a .md path keeps its Markdown reading


async def test_follows_a_safe_redirect(site):
    document = await fetcher(allow_private=True).fetch(f"{site.base}/to-page")
    assert document.url == f"{site.base}/page.html" and [p for p, _ in site.requests] == ["/to-page", "/page.html"]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/page.html", "http://localhost:{port}/page.html", "http://[::1]:{port}/page.html",
    "http://[::ffff:127.0.0.1]:{port}/page.html", "http://2130706433:{port}/page.html", "http://10.1.2.3/",
    "http://192.168.0.1/", "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:{port}/page.html",
    "http://[fd00:ec2::254]/", "http://100.64.0.1/", "http://224.0.0.1/",
])
async def test_private_addresses_are_refused_before_connecting(site, url):
    with pytest.raises(SourceRejected, match="citebot only fetches public web addresses"):
        await fetcher().fetch(url.format(port=site.port))
    assert site.requests == []


@pytest.mark.parametrize("url, message", [
    ("file:///etc/passwd", "Only http:// and https://"), ("ftp://example.org/x", "Only http:// and https://"),
    ("http://user:pw@example.org/", "user name or password"), ("not a url", "Only http"),
    ("https://" + "a" * 2100, "longer than 2048"),
])
async def test_non_http_urls_are_refused(url, message):
    with pytest.raises(SourceRejected, match=message):
        await fetcher().fetch(url)


async def test_a_redirect_to_a_metadata_address_is_refused_even_when_private_urls_are_allowed(site):
    with pytest.raises(SourceRejected, match="cloud metadata address"):
        await fetcher(allow_private=True).fetch(f"{site.base}/to-metadata")


async def test_every_redirect_is_checked_again(site):
    # Only 127.0.0.1 is let through; the redirect's 127.0.0.2 is loopback like any other and is refused.
    only_this_host = fetcher(policy_kwargs={"exempt": (ipaddress.ip_network("127.0.0.1/32"),)})
    assert (await only_this_host.fetch(f"{site.base}/page.html")).data == HTML
    with pytest.raises(SourceRejected, match="loopback address"):
        await only_this_host.fetch(f"{site.base}/to-loopback")
    assert [p for p, _ in site.requests] == ["/page.html", "/to-loopback"]  # 127.0.0.2 was never contacted
    with pytest.raises(SourceRejected, match="Only http:// and https://"):
        await only_this_host.fetch(f"{site.base}/to-file")


async def test_too_many_redirects(site):
    with pytest.raises(SourceRejected, match="redirects more than 5 times"):
        await fetcher(allow_private=True).fetch(f"{site.base}/loop")
    assert len(site.requests) == 6


async def test_connects_to_the_checked_addresses_without_resolving_again(site):
    lookups: list[str] = []

    async def resolve_once(host: str, port: int) -> list[str]:
        # A rebinding DNS answers a safe address first and a private one afterwards: there is no afterwards.
        lookups.append(host)
        if len(lookups) > 1:
            raise AssertionError("resolved twice")
        return ["127.0.0.1"]

    document = await fetcher(allow_private=True, resolve=resolve_once).fetch(f"http://rebind.test:{site.port}/page.html")
    assert document.data == HTML and lookups == ["rebind.test"]
    assert site.requests == [("/page.html", f"rebind.test:{site.port}")]  # the name is kept for Host (and TLS SNI)


async def test_bodies_over_the_cap_are_refused_while_streaming(site):
    with pytest.raises(SourceRejected, match="larger than"):
        await fetcher(allow_private=True, max_bytes=100_000).fetch(f"{site.base}/big")
    with pytest.raises(SourceRejected, match="larger than"):
        await fetcher(allow_private=True, max_bytes=100_000).fetch(f"{site.base}/big-declared")


async def test_wrong_content_type_is_refused(site):
    with pytest.raises(SourceRejected, match="serves image/png"):
        await fetcher(allow_private=True).fetch(f"{site.base}/image.png")


async def test_slow_pages_time_out(site):
    with pytest.raises(SourceRejected, match=r"longer than 0\.3 seconds"):
        await fetcher(allow_private=True, timeout=0.3).fetch(f"{site.base}/slow")


async def test_missing_pages_are_refused(site):
    with pytest.raises(SourceRejected, match="HTTP 404"):
        await fetcher(allow_private=True).fetch(f"{site.base}/nope")


@pytest.mark.parametrize("address, refused", [
    ("8.8.8.8", None), ("2606:4700:4700::1111", None), ("127.0.0.1", "a loopback address"),
    ("::1", "a loopback address"), ("10.0.0.1", "a private address"), ("172.16.0.1", "a private address"),
    ("192.168.1.1", "a private address"), ("169.254.1.1", "a link-local address"),
    ("fe80::1", "a link-local address"), ("fc00::1", "a private address"),
    ("169.254.169.254", "a cloud metadata address"), ("0.0.0.0", "an unspecified address"),
    ("239.1.1.1", "a multicast address"), ("240.0.0.1", "a private address"), ("100.64.0.1", "a non-public address"),
    ("::ffff:10.0.0.1", "a private address"), ("2002:7f00:1::", "a loopback address"),
])
def test_address_policy(address, refused):
    assert AddressPolicy().refusal(ipaddress.ip_address(address)) == refused


def test_private_urls_setting_still_refuses_metadata_and_unspecified():
    policy = AddressPolicy(allow_private=True)
    assert policy.refusal(ipaddress.ip_address("10.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("169.254.169.254")) == "a cloud metadata address"
    assert policy.refusal(ipaddress.ip_address("0.0.0.0")) == "an unspecified address"


