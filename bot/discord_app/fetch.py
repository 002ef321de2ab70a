"""Fetch an organizer's URL without letting it reach the bot's own network (SSRF-safe add-url)."""
from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.errors import SourceRejected
from knowledge.readers import slugify

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], Awaitable[list[str]]]

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CONTENT_TYPES = {"text/html": ".html", "text/plain": ".txt", "text/markdown": ".md",
                 "application/pdf": ".pdf", "text/csv": ".csv"}
# text/plain is what raw file hosts serve for .md and .csv files; keep their real type.
_PLAIN_SUFFIXES = frozenset({".md", ".markdown", ".csv", ".txt"})
# Cloud instance-metadata endpoints (AWS, ECS, GCP, Azure, Alibaba, Oracle): refused even when
# allow_private_urls is on, since a test never needs them and they hold credentials.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "169.254.169.123", "fd00:ec2::254", "100.100.100.200", "192.0.0.192"))
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class AddressPolicy:
    """Which resolved addresses add-url may connect to."""

    allow_private: bool = False  # test only: loopback and private networks become reachable
    exempt: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default=())  # tests: narrow holes

    def refusal(self, address: IPAddress) -> str | None:
        """Why address is refused, or None when it is allowed."""
        if isinstance(address, ipaddress.IPv6Address):
            embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
            if embedded is not None:  # ::ffff:127.0.0.1 is 127.0.0.1
                return self.refusal(embedded)
        if address in METADATA_ADDRESSES:
            return "a cloud metadata address"
        if address.is_unspecified:
            return "an unspecified address"
        if address.is_multicast:
            return "a multicast address"
        if self.allow_private or any(address in net for net in self.exempt):
            return None
        for label, test in (("a loopback", address.is_loopback), ("a link-local", address.is_link_local),
                            ("a private", address.is_private), ("a reserved", address.is_reserved)):
            if test:
                return f"{label} address"
        if not address.is_global:
            return "a non-public address"
        return None


@dataclass(frozen=True)
class FetchedDocument:
    """A downloaded page or file, ready for KnowledgeService.add_source."""

    url: str  # after redirects
    content_type: str
    data: bytes
    filename: str


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise SourceRejected(f"The address {host!r} could not be found ({exc.strerror}).") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _PinnedResolver(AbstractResolver):
    """Gives aiohttp exactly the addresses that were checked, so a DNS rebind cannot slip in between."""

    def __init__(self, host: str, addresses: list[IPAddress]) -> None:
        self._host = host
        self._addresses = addresses

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        """The checked addresses, for the one host they were checked for."""
        if host != self._host:
            raise OSError(f"refusing to resolve {host!r}: only {self._host!r} was checked")
        return [ResolveResult(hostname=host, host=str(a), port=port, proto=socket.IPPROTO_TCP,
                              family=socket.AF_INET6 if a.version == 6 else socket.AF_INET,
                              flags=socket.AI_NUMERICHOST)
                for a in self._addresses if family in (socket.AF_UNSPEC, 0) or
                (family == socket.AF_INET6) == (a.version == 6)]

    async def close(self) -> None:
        """Nothing to release."""
        return None


def filename_for(url: URL, content_type: str) -> str:
    """A stable, readable file name for a URL: host and last path segment, plus a short hash."""
    suffix = CONTENT_TYPES[content_type]
    path_suffix = PurePosixPath(url.path).suffix.lower()
    if content_type == "text/plain" and path_suffix in _PLAIN_SUFFIXES:
        suffix = path_suffix
    stem = slugify(f"{url.host or 'page'} {PurePosixPath(url.path).stem}")[:60]
    digest = hashlib.sha256(str(url).encode()).hexdigest()[:6]  # two pages of one site keep separate files
    return f"{stem}-{digest}{suffix}"


class UrlFetcher:
    """http(s) only; every hop's addresses checked; size, time and type limited."""

    def __init__(self, *, max_bytes: int, timeout_seconds: float, policy: AddressPolicy,
                 resolve: Resolve = system_resolve, user_agent: str = "citebot (add-url)") -> None:
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds
        self.policy = policy
        self._resolve = resolve
        self._user_agent = user_agent

    @staticmethod
    def checked_url(raw: str) -> URL:
        """The URL parsed, or SourceRejected when it is not a plain http(s) URL."""
        raw = raw.strip()
        try:
            url = URL(raw)
        except (ValueError, TypeError):
            raise SourceRejected("That is not a valid URL.") from None
        if len(raw) > 2048:
            raise SourceRejected("That URL is longer than 2048 characters.")
        if url.scheme not in ("http", "https"):
            raise SourceRejected("Only http:// and https:// URLs can be added.")
        if not url.host:
            raise SourceRejected("That URL has no host name.")
        if url.user or url.password:
            raise SourceRejected("URLs with a user name or password are not accepted.")
        return url

    async def checked_addresses(self, url: URL) -> list[IPAddress]:
        """Resolve the host and refuse it when any address is not allowed."""
        host = url.raw_host or ""
        try:
            addresses = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in await self._resolve(host, url.port or 0)]
        if not addresses:
            raise SourceRejected(f"The address {host!r} could not be found.")
        for address in addresses:
            reason = self.policy.refusal(address)
            if reason:
                raise SourceRejected(f"{url.host} resolves to {reason} ({address}); citebot only fetches "
                                     f"public web addresses.")
        return addresses

    async def fetch(self, raw_url: str) -> FetchedDocument:
        """Download raw_url, following at most MAX_REDIRECTS redirects, each one checked again."""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await self._fetch(self.checked_url(raw_url))
        except TimeoutError:
            raise SourceRejected(f"The page took longer than {self.timeout_seconds:g} seconds to download.") from None

    async def _fetch(self, url: URL) -> FetchedDocument:
        """One request per hop, each to freshly checked addresses, redirects followed by hand."""
        for _ in range(MAX_REDIRECTS + 1):
            addresses = await self.checked_addresses(url)
            connector = aiohttp.TCPConnector(resolver=_PinnedResolver(url.raw_host or "", addresses),
                                             use_dns_cache=False, force_close=True)
            # trust_env=False: an HTTP(S)_PROXY variable must not route around the address checks.
            async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
                try:
                    async with session.get(url, allow_redirects=False, headers={
                            "User-Agent": self._user_agent, "Accept-Encoding": "identity",
                            "Accept": ", ".join(CONTENT_TYPES)}) as response:
                        if response.status in REDIRECT_STATUSES:
                            location = response.headers.get("Location")
                            if not location:
                                raise SourceRejected(f"{url.host} answered a redirect without a Location.")
                            url = self.checked_url(str(url.join(URL(location))))
                            continue
                        return await self._read(url, response)
                except aiohttp.ClientError as exc:
                    raise SourceRejected(f"{url.host} could not be reached ({type(exc).__name__}).") from None
        raise SourceRejected(f"The URL redirects more than {MAX_REDIRECTS} times.")

    async def _read(self, url: URL, response: aiohttp.ClientResponse) -> FetchedDocument:
        """Check status, type and size, then stream the body up to the cap."""
        if response.status != 200:
            raise SourceRejected(f"{url.host} answered HTTP {response.status}; only a 200 page can be added.")
        content_type = response.content_type.lower()
        if content_type not in CONTENT_TYPES:
            raise SourceRejected(f"The URL serves {content_type or 'an unknown type'}; citebot accepts "
                                 f"{', '.join(CONTENT_TYPES)}.")
        limit_mb = f"{self.max_bytes / 1024 / 1024:g} MB"
        if response.content_length is not None and response.content_length > self.max_bytes:
            raise SourceRejected(f"The page is larger than {limit_mb}.")
        data = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            data += chunk
            if len(data) > self.max_bytes:  # the header may be missing or wrong: count what arrives
                raise SourceRejected(f"The page is larger than {limit_mb}.")
        return FetchedDocument(url=str(url), content_type=content_type, data=bytes(data),
                               filename=filename_for(url, content_type))
