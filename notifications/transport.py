"""
Outbound webhook HTTP, guarded against server-side request forgery.

A webhook URL is chosen by a tenant, so every request to it could be aimed at
our own network. The rules, applied when a URL is registered AND again at
every delivery (a name may resolve elsewhere by then: DNS rebinding):

- only http and https, no user:password in the URL;
- the host is resolved here and every address it resolves to must be a
  public one: loopback (unless WEBHOOKS_ALLOW_LOOPBACK), private, link-local,
  multicast, reserved, unspecified, shared (CGNAT) and the cloud metadata
  addresses are refused, also when embedded in an IPv6 address (mapped,
  6to4, Teredo, NAT64);
- the connection goes to the address that was checked, never to a second
  resolution of the name (TLS still verifies the certificate for the name);
- redirects are not followed; connect and each read time out after
  WEBHOOK_TIMEOUT seconds; at most RESPONSE_BODY_CAP bytes of the answer
  are read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from pockity.exceptions import InvalidInput

WEBHOOK_TIMEOUT = 3.0
RESPONSE_BODY_CAP = 4096
MAX_URL_LENGTH = 2048

# Covered by the link-local and private checks as well; named so that the
# rule survives a change in what `ipaddress` calls private.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
}


class WebhookUrlRefused(InvalidInput):
    code = "webhook_url_refused"
    default_message = "This webhook URL is not allowed."


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


@dataclass(frozen=True)
class HttpResult:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# NAT64 gateways (RFC 6052's well-known prefix and RFC 8215's local-use one)
# forward to the IPv4 address in the last 32 bits.
NAT64_NETWORKS = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4, Teredo or NAT64 address would reach."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in NAT64_NETWORKS):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _address_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Why `address` may not be called, or "" when it may.

    An IPv6 address that carries an IPv4 one (mapped, 6to4, Teredo, NAT64)
    is refused when that IPv4 address would be: a relay or gateway would
    otherwise carry the request to it.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        reason = _address_refusal(embedded) if embedded is not None else ""
        if reason:
            return f"{reason} inside an IPv6 address"
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return "" if settings.WEBHOOKS_ALLOW_LOOPBACK else "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "a non-public address"
    return ""


def _resolve(host: str, port: int) -> list[str]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        return [str(literal)]

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookUrlRefused(
            f"The host {host!r} could not be resolved.", details={"host": host}
        ) from exc
    addresses = []
    for info in infos:
        # Drop an IPv6 zone id ("fe80::1%eth0"); it is link-local anyway.
        address = info[4][0].split("%", 1)[0]
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise WebhookUrlRefused(
            f"The host {host!r} has no address.", details={"host": host}
        )
    return addresses


def webhook_target(url: str) -> Target:
    """Check `url` against the rules above; return where to connect.

    Resolves the host (one DNS query). Raises WebhookUrlRefused (400) with
    the reason when any rule fails.
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise WebhookUrlRefused(
            f"A webhook URL is required, at most {MAX_URL_LENGTH} characters."
        )
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        raise WebhookUrlRefused(
            "The webhook URL contains spaces or control characters."
        )

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlRefused("The webhook URL is malformed.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookUrlRefused(
            "Only http and https webhook URLs are allowed.",
            details={"scheme": scheme},
        )
    if not parts.hostname:
        raise WebhookUrlRefused("The webhook URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlRefused("The webhook URL may not carry credentials.")

    host = parts.hostname
    port = port or (443 if scheme == "https" else 80)
    addresses = _resolve(host, port)
    for address in addresses:
        reason = _address_refusal(ipaddress.ip_address(address))
        if reason:
            raise WebhookUrlRefused(
                f"The webhook host resolves to {reason}.",
                details={"host": host, "reason": reason},
            )

    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Talks to `address` while naming `host` in the Host header."""

    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above over TLS; the certificate is verified for `host`."""

    def __init__(self, host, port, *, address, timeout):
        super().__init__(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post_json(url: str, *, body: bytes, headers: dict[str, str]) -> HttpResult:
    """POST `body` to `url` under the rules above; never raises for the network.

    A refused URL, a connection failure or a timeout comes back as an
    HttpResult with `error` set; any status (3xx included: redirects are not
    followed) comes back as `status_code`.
    """
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = webhook_target(url)
    except WebhookUrlRefused as exc:
        return HttpResult(status_code=None, error=exc.message, duration_ms=elapsed())

    connection_class = (
        _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    )
    connection = connection_class(
        target.host, target.port, address=target.address, timeout=WEBHOOK_TIMEOUT
    )
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": f"Pockity-Webhook/{settings.POCKITY_VERSION}",
                **headers,
            },
        )
        response = connection.getresponse()
        # Enough to let the server finish; the content itself is not used.
        response.read(RESPONSE_BODY_CAP)
        return HttpResult(status_code=response.status, error="", duration_ms=elapsed())
    except (OSError, http.client.HTTPException) as exc:
        return HttpResult(
            status_code=None,
            error=f"{type(exc).__name__}: {exc}"[:500],
            duration_ms=elapsed(),
        )
    finally:
        connection.close()
