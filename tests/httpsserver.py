"""A real HTTPS server for tests: serves responses written in the test on loopback, with a test CA.

`make_certificates` builds a throw-away CA and a server certificate for chosen host names with the
`openssl` command (None when it is not installed, so tests can skip). `HttpsTestServer` runs an aiohttp
web server in its own thread and event loop, so async code, threads and subprocesses reach it through
real sockets; each path answers what the test set (status, body, content type, headers, a delay), and
`log` records the Host header, the TLS server name (SNI) and the path of every request.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web


@dataclass(frozen=True)
class Certificates:
    ca_file: str
    cert_file: str
    key_file: str


def make_certificates(directory: Path, hostnames: list[str]) -> Certificates | None:
    """A CA and a server certificate for `hostnames` (subjectAltName), or None without openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    d = Path(directory)
    ca_key, ca_pem = d / "ca.key", d / "ca.pem"
    key, csr, pem, ext = d / "server.key", d / "server.csr", d / "server.pem", d / "server.ext"
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=30)

    run(
        "req",
        "-x509",
        *curve,
        "-keyout",
        str(ca_key),
        "-out",
        str(ca_pem),
        "-days",
        "2",
        "-subj",
        "/CN=test CA",
    )
    run("req", *curve, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={hostnames[0]}")
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
        f"subjectAltName={','.join('DNS:' + h for h in hostnames)}\n"
    )
    run(
        "x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(pem), "-days", "2", "-extfile", str(ext),
    )  # fmt: skip
    return Certificates(str(ca_pem), str(pem), str(key))


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunked: bool = False  # no Content-Length: the client learns the size only by reading


class HttpsTestServer:
    """`with HttpsTestServer(certs) as web: web.set("/x", "hello")`; unknown paths answer 404."""

    def __init__(self, certs: Certificates, host: str = "127.0.0.1") -> None:
        self.certs = certs
        self.host = host
        self.routes: dict[str, Route] = {}
        self.log: list[dict[str, str | None]] = []
        self.port = 0
        self._sni: list[str | None] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def set(self, path: str, body: str | bytes = b"", **kwargs) -> HttpsTestServer:
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self.routes[path] = Route(body=data, **kwargs)
        return self

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            sni = self._sni[-1] if self._sni else None
            self.log.append({"host": request.headers.get("Host"), "sni": sni, "path": request.path})
            route = self.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.delay:
            await asyncio.sleep(route.delay)
        if route.chunked:
            stream = web.StreamResponse(status=route.status, headers=route.headers)
            stream.content_type = route.content_type
            stream.enable_chunked_encoding()
            await stream.prepare(request)
            for i in range(0, len(route.body), 8192):
                await stream.write(route.body[i : i + 8192])
            await stream.write_eof()
            return stream
        response = web.Response(status=route.status, body=route.body, headers=route.headers)
        response.content_type = route.content_type
        return response

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certs.cert_file, self.certs.key_file)

        def remember(_sock, server_name, _context):
            with self._lock:
                self._sni.append(server_name)

        context.sni_callback = remember
        return context

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=self._context())
        await site.start()
        self.port = self._runner.addresses[0][1]

    def start(self) -> HttpsTestServer:
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the test HTTPS server did not start")
        return self

    def stop(self) -> None:
        if self._runner is not None:
            future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
            future.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> HttpsTestServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
