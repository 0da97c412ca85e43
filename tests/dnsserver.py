"""A real DNS server for tests: serves zone data written in the test over UDP and TCP on loopback.

It answers like an authoritative server (AA, NXDOMAIN vs NODATA, CNAME chains, wildcards, empty
non-terminals), truncates UDP answers that do not fit so clients retry over TCP, and injects faults
for chosen names: SERVFAIL, REFUSED, a delay, or no answer at all. By default it answers for every
name; `serve_zones()` makes it behave like nsd or BIND serving only those zones: REFUSED outside
them, CNAME chains left dangling at the zone edge, and an SOA in negative answers. It runs in
threads, so async code, worker threads and subprocesses all reach it through real sockets.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset


@dataclass
class Fault:
    kind: str  # "servfail" | "refused" | "timeout" | "delay"
    seconds: float = 0.0


def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _rdata(rdtype: str, value) -> dns.rdata.Rdata:
    rdtype = rdtype.upper()
    if rdtype in ("TXT", "SPF"):
        chunks = value if isinstance(value, list | tuple) else [value]
        strings = []
        for chunk in chunks:
            data = chunk.encode() if isinstance(chunk, str) else bytes(chunk)
            # One character-string holds at most 255 bytes; longer text is split as publishers do.
            if not data:
                strings.append(b"")
            strings.extend(data[i : i + 255] for i in range(0, len(data), 255))
        return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), strings)
    if rdtype == "MX" and isinstance(value, list | tuple):
        value = f"{value[0]} {value[1]}"
    if rdtype in ("MX", "CNAME", "PTR", "NS") and not str(value).endswith("."):
        value = f"{value}."
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), str(value))


class DnsTestServer:
    """`with DnsTestServer() as dns: dns.add("example.com", "MX", "10 mx.example.com")`."""

    def __init__(self, host: str = "127.0.0.1", delay: float = 0.0, udp_size: int | None = None) -> None:
        self.host = host
        self.delay = delay
        self.udp_size = udp_size  # force a smaller UDP limit to provoke truncation
        self.records: dict[str, dict[str, list[dns.rdata.Rdata]]] = {}
        self.faults: dict[tuple[str, str | None], Fault] = {}
        self.log: list[tuple[str, str, str]] = []  # (name, type, "udp"|"tcp")
        self.zones: tuple[str, ...] = ()  # empty: answer for every name
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._servers: list[socketserver.BaseServer] = []
        self.port = 0

    # -- zone data -------------------------------------------------------------------------------
    def add(self, name: str, rdtype: str, *values, ttl: int = 300) -> DnsTestServer:
        with self._lock:
            bucket = self.records.setdefault(_norm(name), {}).setdefault(rdtype.upper(), [])
            bucket.extend(_rdata(rdtype, v) for v in values)
        return self

    def set(self, name: str, rdtype: str, *values) -> DnsTestServer:
        with self._lock:
            self.records.setdefault(_norm(name), {})[rdtype.upper()] = [_rdata(rdtype, v) for v in values]
        return self

    def remove(self, name: str, rdtype: str | None = None) -> None:
        with self._lock:
            if rdtype is None:
                self.records.pop(_norm(name), None)
            else:
                self.records.get(_norm(name), {}).pop(rdtype.upper(), None)

    def fault(self, name: str, kind: str, seconds: float = 0.0, rdtype: str | None = None) -> None:
        """Make queries for `name` (any type, or just `rdtype`) fail: servfail, refused, timeout, delay,
        or formerr-edns (FORMERR to any query carrying EDNS, as servers that predate it answer)."""
        if kind not in ("servfail", "refused", "timeout", "delay", "formerr-edns"):
            raise ValueError(kind)
        with self._lock:
            self.faults[(_norm(name), rdtype.upper() if rdtype else None)] = Fault(kind, seconds)

    def serve_zones(self, *zones: str) -> None:
        """Be authoritative for these zones only, as a real authoritative server is."""
        with self._lock:
            self.zones = tuple(_norm(z) for z in zones)

    def _zone_of(self, name: str) -> str | None:
        if not self.zones:
            return ""
        return max((z for z in self.zones if name == z or name.endswith("." + z)), key=len, default=None)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def reset(self) -> None:
        with self._lock:
            self.records.clear()
            self.faults.clear()
            self.log.clear()
            self.zones = ()

    def queries_for(self, name: str) -> list[tuple[str, str, str]]:
        return [q for q in self.log if q[0] == _norm(name)]

    # -- answering -------------------------------------------------------------------------------
    def _exists(self, name: str) -> bool:
        return name in self.records or any(n.endswith("." + name) for n in self.records)

    def _wildcard(self, name: str) -> str | None:
        labels = name.split(".")
        for i in range(1, len(labels)):
            candidate = "*." + ".".join(labels[i:])
            if candidate in self.records and not self._exists(name):
                return candidate
        return None

    def answer(self, query: dns.message.Message, transport: str = "udp") -> dns.message.Message | None:
        """The response to `query`, or None to stay silent."""
        question = query.question[0]
        qname = _norm(question.name.to_text())
        qtype = dns.rdatatype.to_text(question.rdtype)
        with self._lock:
            self.log.append((qname, qtype, transport))
            fault = self.faults.get((qname, qtype)) or self.faults.get((qname, None))
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if fault is not None:
            if fault.kind == "timeout":
                self._stop.wait(fault.seconds or 30.0)
                return None
            if fault.kind == "delay":
                self._stop.wait(fault.seconds)
            elif fault.kind == "servfail":
                response.set_rcode(dns.rcode.SERVFAIL)
                return response
            elif fault.kind == "refused":
                response.set_rcode(dns.rcode.REFUSED)
                return response
            elif fault.kind == "formerr-edns" and query.edns >= 0:
                response.use_edns(False)
                response.set_rcode(dns.rcode.FORMERR)
                return response
        if self.delay:
            self._stop.wait(self.delay)
        with self._lock:
            if self._zone_of(qname) is None:
                response.set_rcode(dns.rcode.REFUSED)
                response.flags &= ~dns.flags.AA
                return response
            self._resolve(response, qname, qtype)
        return response

    def _resolve(self, response: dns.message.Message, qname: str, qtype: str) -> None:
        name = qname
        for _ in range(10):
            owner = name if name in self.records else self._wildcard(name)
            node = self.records.get(owner, {}) if owner else {}
            if qtype in node or (qtype == "ANY" and node):
                types = node if qtype == "ANY" else {qtype: node[qtype]}
                for rdtype, rdatas in types.items():
                    self._append(response, name, rdtype, rdatas)
                return
            if "CNAME" in node and qtype != "CNAME":
                self._append(response, name, "CNAME", node["CNAME"])
                name = _norm(node["CNAME"][0].target.to_text())
                if self._zone_of(name) is None:
                    return  # outside the served zones: the chain is left for the client to follow
                continue
            if owner is None and not self._exists(name):
                response.set_rcode(dns.rcode.NXDOMAIN)
            if zone := self._zone_of(name):
                soa = f"ns1.{zone}. hostmaster.{zone}. 1 3600 600 86400 300"
                rrset = dns.rrset.from_text(f"{zone}.", 300, "IN", "SOA", soa)
                response.authority.append(rrset)
            return  # NXDOMAIN, or the name exists without that type: NODATA

    @staticmethod
    def _append(response: dns.message.Message, name: str, rdtype: str, rdatas) -> None:
        rrset = dns.rrset.RRset(dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
        for rdata in rdatas:
            rrset.add(rdata, 300)
        response.answer.append(rrset)

    def _wire(self, query: dns.message.Message, response: dns.message.Message, udp: bool) -> bytes:
        if not udp:
            return response.to_wire(max_size=65535)
        limit = 512
        if query.edns >= 0:
            limit = max(512, min(query.payload, 4096))
        if self.udp_size:
            limit = min(limit, self.udp_size)
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.AA | dns.flags.TC
            truncated.set_rcode(response.rcode())
            return truncated.to_wire()

    def handle(self, data: bytes, udp: bool) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        response = self.answer(query, "udp" if udp else "tcp")
        if response is None:
            return None
        return self._wire(query, response, udp)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> DnsTestServer:
        server = self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                reply = server.handle(data, udp=True)
                if reply is not None:
                    sock.sendto(reply, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn = self.request
                conn.settimeout(5)
                try:
                    while not server._stop.is_set():
                        head = conn.recv(2)
                        if len(head) < 2:
                            return
                        (length,) = struct.unpack("!H", head)
                        data = b""
                        while len(data) < length:
                            chunk = conn.recv(length - len(data))
                            if not chunk:
                                return
                            data += chunk
                        reply = server.handle(data, udp=False)
                        if reply is None:
                            return
                        conn.sendall(struct.pack("!H", len(reply)) + reply)
                except OSError:
                    return

        class UdpServer(socketserver.ThreadingUDPServer):
            address_family = family
            daemon_threads = True

        class TcpServer(socketserver.ThreadingTCPServer):
            address_family = family
            daemon_threads = True
            allow_reuse_address = True

        for _ in range(50):
            udp = UdpServer((self.host, 0), Udp)
            port = udp.server_address[1]
            try:
                tcp = TcpServer((self.host, port), Tcp)
            except OSError:
                udp.server_close()
                continue
            break
        else:
            raise RuntimeError("no free port for the test DNS server")
        self.port = port
        self._servers = [udp, tcp]
        for srv in self._servers:
            threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        self._servers = []

    @property
    def nameserver(self) -> str:
        """The DNS_NAMESERVERS value that points at this server."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def __enter__(self) -> DnsTestServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":  # a quick manual server: python -m tests.dnsserver
    with DnsTestServer() as srv:
        srv.add("example.com", "A", "192.0.2.1")
        print(srv.nameserver)
        time.sleep(3600)
