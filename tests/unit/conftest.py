# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared fixtures of the unit tests: the HostUp API simulator and clients that never really sleep.

One simulator serves the whole session (starting and stopping a server costs up to half a second);
the ``sim`` fixture resets it before every test, so each test sees the default state, an empty
request log and no queued faults.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ansible_collections.hostup.cloud.plugins.module_utils._client import HostupClient
from ansible_collections.hostup.cloud.tests.simulator.hostup_sim import Simulator

DEMO_KEY = "sim-demo-key"


class FakeClock(object):
    """A monotonic clock that only moves when something sleeps; every sleep is recorded.

    Passed to HostupClient as both ``sleep`` and ``clock``, so Retry-After and backoff waits are
    asserted exactly and wait_timeout loops run instantly.
    """

    def __init__(self, start=1000.0):
        self.now = start
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class SimHandle(object):
    """The running simulator as a test sees it: its URL and its /_sim/ admin API."""

    def __init__(self, simulator):
        self.simulator = simulator
        self.url = simulator.url

    def admin(self, method, path, body=None):
        """Call the admin API (no key needed); return the decoded JSON answer, failing the test on an error."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return json.loads(answer.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            pytest.fail("simulator admin call %s %s failed: HTTP %s %s" % (
                method, path, error.code, error.read().decode("utf-8", "replace")))

    def reset(self):
        self.admin("POST", "/_sim/reset")

    def log(self):
        """Every /api/ request the simulator received since the reset, oldest first."""
        return self.admin("GET", "/_sim/log")["requests"]

    def calls(self):
        """The log reduced to (method, path) pairs, the shape most assertions need."""
        return [(entry["method"], entry["path"]) for entry in self.log()]

    def statuses(self):
        return [entry["status"] for entry in self.log()]

    def wait_for_log(self, count, timeout=5.0):
        """Wait until ``count`` requests are logged (a delayed answer is logged only once its latency has passed)."""
        deadline = time.monotonic() + timeout
        while True:
            entries = self.log()
            if len(entries) >= count or time.monotonic() > deadline:
                return entries
            time.sleep(0.02)

    def fault(self, **spec):
        """Queue one fault, e.g. ``fault(method="GET", path="/api/v2/vps", status=503, count=2)``."""
        self.admin("POST", "/_sim/faults", spec)

    def state(self):
        return self.admin("GET", "/_sim/state")

    def set_ticket_status(self, ticket_id, status):
        self.admin("POST", "/_sim/tickets/%s/status" % ticket_id, {"status": status})

    def patch_vps(self, vps_id, changes):
        self.admin("PATCH", "/_sim/vps/%s" % vps_id, changes)

    def add_vps(self, count, prefix="bulk"):
        return self.admin("POST", "/_sim/vps/bulk", {"count": count, "prefix": prefix})


@pytest.fixture(scope="session")
def simulator_server():
    """One in-process simulator on a free loopback port for the whole session."""
    simulator = Simulator(host="127.0.0.1", port=0)
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture
def sim(simulator_server):
    """The simulator, reset to the default state with an empty log and no faults."""
    handle = SimHandle(simulator_server)
    handle.reset()
    return handle


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def client(sim, clock):
    """Factory of HostupClients talking to the simulator, sleeping on the fake clock.

    ``client()`` uses the demo key, a 5 s timeout and 3 retries; any HostupClient argument can be overridden.
    """
    made = []

    def make(**overrides):
        # proxies={} keeps a proxy set in the test runner's environment away from loopback traffic.
        options = dict(api_key=DEMO_KEY, api_url=sim.url, timeout=5, retries=3,
                       sleep=clock.sleep, clock=clock, proxies={})
        options.update(overrides)
        new_client = HostupClient(**options)
        made.append(new_client)
        return new_client

    yield make
    for each in made:
        each.close()


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory):
    """A loopback HTTPS server with a self-signed certificate that answers every GET with an empty VPS list."""
    crypto = pytest.importorskip("cryptography")  # ansible-core requires it, so it is always there
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostup-test")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # pylint: disable=invalid-name
            body = b'{"data": [], "nextCursor": null}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_file), str(key_file))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "https://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
