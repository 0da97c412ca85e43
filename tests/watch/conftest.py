"""Fixtures for watches: settings pointing at the loopback DNS server with one emulated blocklist and the
test database, zone data for a sending IP and a domain, and a recording Slack client."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.checks.test_dkim import RSA_2048
from tests.dnsserver import DnsTestServer
from watch.scheduler import Scheduler

IP = "81.2.69.160"
REV = "160.69.2.81"
ZONE = "bl.watch-test.example"  # an IP list read by the RFC 5782 convention
DOMAIN = "shop.example"
MX_HOST = "mx.shop.example"


class RecordingClient:
    """Stands in for slack_sdk's AsyncWebClient: records chat_postMessage calls."""

    def __init__(self) -> None:
        self.posts: list[dict] = []

    async def chat_postMessage(self, **kwargs):
        self.posts.append(kwargs)
        return {"ok": True, "ts": f"1715158800.{len(self.posts):06d}"}


class FlakyDnsServer(DnsTestServer):
    """The loopback server, plus faults that answer only the next `times` queries for a name."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.flaky: dict[str, list] = {}

    def fail_next(self, name: str, kind: str = "servfail", times: int = 1) -> None:
        self.fault(name, kind)
        with self._lock:
            self.flaky[name.lower()] = [times]

    def answer(self, query, transport="udp"):
        name = query.question[0].name.to_text().rstrip(".").lower()
        response = super().answer(query, transport)
        with self._lock:
            left = self.flaky.get(name)
            if left is not None:
                left[0] -= 1
                if left[0] <= 0:
                    del self.flaky[name]
                    self.faults.pop((name, None), None)
        return response


@pytest.fixture
def dns_server():
    with FlakyDnsServer() as server:
        yield server


@pytest.fixture
def wsettings(settings, db_path):
    """Settings for watch runs: one IP list, no domain lists, the test database."""
    return replace(
        settings,
        blocklists_ip=(ZONE,),
        blocklists_domain=(),
        database_path=str(db_path),
        watch_interval=6 * 3600.0,
        blocklist_rate=0.0,
    )


@pytest.fixture
def client() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def scheduler(store, wsettings, client):
    return Scheduler(store, wsettings, client=client, retry_delay=0.05)


def serve_ip(server: DnsTestServer, ip: str = IP, rev: str = REV, host: str = "mail.sender.example") -> None:
    """A sending IP with a forward-confirmed PTR, and a list that passes its test points."""
    server.set(f"{rev}.in-addr.arpa", "PTR", host)
    server.set(host, "A", ip)
    server.set(f"2.0.0.127.{ZONE}", "A", "127.0.0.2")


def serve_domain(server: DnsTestServer) -> None:
    """A domain in good order: MX with a confirmed PTR, SPF, a DKIM key at s1, DMARC p=reject."""
    server.set(DOMAIN, "MX", f"10 {MX_HOST}")
    server.set(MX_HOST, "A", IP)
    server.set(f"{REV}.in-addr.arpa", "PTR", MX_HOST)
    server.set(DOMAIN, "TXT", f"v=spf1 ip4:{IP} -all")
    server.set(f"s1._domainkey.{DOMAIN}", "TXT", f"v=DKIM1; k=rsa; p={RSA_2048}")
    server.set(f"_dmarc.{DOMAIN}", "TXT", "v=DMARC1; p=reject")
