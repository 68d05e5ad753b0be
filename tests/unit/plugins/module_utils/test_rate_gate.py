# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shared rate gate: after one client meets a 429, the others using the same key and URL send
nothing until the wait is over, and take turns; anything odd on disk switches the gate off."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone

import pytest

from ansible_collections.hostup.cloud.plugins.module_utils._client import HostupApiError, HostupClient
from ansible_collections.hostup.cloud.plugins.module_utils._module_support import client_from_params
from ansible_collections.hostup.cloud.plugins.module_utils._rate_gate import RateGate

DEMO_KEY = "sim-demo-key"


def gated_client(sim, directory, **options):
    gate = RateGate.for_key(sim.url, DEMO_KEY, directory=str(directory))
    assert gate.enabled
    settings = {"timeout": 5, "retries": 3}
    settings.update(options)
    return HostupClient(api_key=DEMO_KEY, api_url=sim.url, rate_gate=gate, **settings)


def logged_at(entry):
    """The simulator log entry's time (ISO 8601, UTC, milliseconds) as epoch seconds."""
    return datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def run_in_thread(function):
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except Exception as exc:  # reported by the test's assertion
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def test_a_second_client_waits_out_the_first_clients_429_and_sends_nothing_meanwhile(sim, tmp_path):
    sim.fault(method="GET", path="/api/v2/vps", status=429, headers={"Retry-After": "1"})
    first = gated_client(sim, tmp_path)
    second = gated_client(sim, tmp_path)
    first_thread, first_outcome = run_in_thread(lambda: first.get("/api/v2/vps"))
    # Start the second client once the first has noted its 429 in the gate (the simulator logs the
    # 429 before the first client has read it, so its log alone would be too early a signal).
    deadline = time.monotonic() + 5
    while first.rate_gate.limited_until() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [entry["status"] for entry in sim.log()] == [429]
    second_thread, second_outcome = run_in_thread(lambda: second.get("/api/v2/support/tickets"))
    second_thread.join(10)
    first_thread.join(10)
    assert "error" not in first_outcome and "error" not in second_outcome
    entries = {(entry["path"], entry["status"]): logged_at(entry) for entry in sim.log()}
    assert sorted(entries) == [("/api/v2/support/tickets", 200), ("/api/v2/vps", 200), ("/api/v2/vps", 429)]
    # Retry-After: 1 from the 429 holds for every client of the gate: without it the second
    # client's request would go out at once.
    assert entries[("/api/v2/support/tickets", 200)] - entries[("/api/v2/vps", 429)] >= 0.9
    assert entries[("/api/v2/vps", 200)] - entries[("/api/v2/vps", 429)] >= 0.9
    assert (first.requests_sent, second.requests_sent) == (2, 1)


def test_forks_under_a_token_bucket_take_turns(sim, tmp_path):
    # Six clients at once against a bucket of one request, refilled twice a second (Retry-After: 1).
    # Retrying on their own, they would all retry together every second and the last one would
    # need five retries (it has three). Taking turns, each meets at most two 429s: one while the
    # bucket is empty, one as it takes its turn right after the previous client's request.
    sim.admin("PUT", "/_sim/rate_limit", {"burst": 1, "per_second": 2})
    clients = [gated_client(sim, tmp_path, retries=3) for dummy in range(6)]
    runs = [run_in_thread(lambda api=api: api.get("/api/v2/vps")) for api in clients]
    for thread, outcome in runs:
        thread.join(60)
        assert "error" not in outcome, outcome
    statuses = sim.statuses()
    assert statuses.count(200) == 6
    # Two 429s per client at most as they take turns; a little slack for a thread that starts late
    # and sends while nobody is waiting.
    assert statuses.count(429) <= 2 * 5 + 2
    assert all(api.requests_sent <= 4 for api in clients)


def test_the_gate_file_holds_a_time_and_never_the_key(sim, tmp_path):
    sim.fault(method="GET", path="/api/v2/vps", status=429, headers={"Retry-After": "0"})
    with gated_client(sim, tmp_path) as api:
        api.get("/api/v2/vps")
    names = sorted(os.listdir(tmp_path))
    assert names and all(name.startswith("rate-") for name in names)
    for name in names:
        content = (tmp_path / name).read_bytes()
        assert DEMO_KEY.encode() not in content and DEMO_KEY not in name
    data = (tmp_path / [name for name in names if not name.endswith(".turn")][0]).read_text()
    assert abs(float(data) - time.time()) < 5


def test_other_keys_and_urls_have_their_own_gate(tmp_path):
    one = RateGate.for_key("http://127.0.0.1:1", DEMO_KEY, directory=str(tmp_path))
    assert one.path != RateGate.for_key("http://127.0.0.1:1", "other-key", directory=str(tmp_path)).path
    assert one.path != RateGate.for_key("http://127.0.0.1:2", DEMO_KEY, directory=str(tmp_path)).path
    assert one.path == RateGate.for_key("http://127.0.0.1:1/", " %s\n" % DEMO_KEY, directory=str(tmp_path)).path


def test_a_directory_others_can_write_or_a_symlink_switches_the_gate_off(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert not RateGate.for_key("http://127.0.0.1:1", DEMO_KEY, directory=str(shared)).enabled
    target = tmp_path / "target"
    target.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(target)
    assert not RateGate.for_key("http://127.0.0.1:1", DEMO_KEY, directory=str(link)).enabled
    assert RateGate.for_key("http://127.0.0.1:1", DEMO_KEY, directory=str(tmp_path / "fresh")).enabled
    assert oct((tmp_path / "fresh").stat().st_mode & 0o777) == "0o700"


def test_without_a_usable_gate_the_client_still_waits_as_retry_after_says(sim, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    gate = RateGate.for_key(sim.url, DEMO_KEY, directory=str(shared))
    slept = []
    sim.fault(method="GET", path="/api/v2/vps", status=429, headers={"Retry-After": "7"})
    with HostupClient(api_key=DEMO_KEY, api_url=sim.url, retries=2, rate_gate=gate, sleep=slept.append) as api:
        api.get("/api/v2/vps")
    assert slept == [7.0]
    assert os.listdir(shared) == []


def test_a_gated_client_still_gives_up_after_its_retries(sim, tmp_path):
    sim.fault(method="GET", path="/api/v2/vps", status=429, headers={"Retry-After": "0"}, count=5)
    with gated_client(sim, tmp_path, retries=2) as api:
        with pytest.raises(HostupApiError) as caught:
            api.get("/api/v2/vps")
    assert "rate limited; gave up after 2 retries" in str(caught.value)
    assert sim.statuses() == [429, 429, 429]


def test_modules_and_actions_get_a_gate(sim):
    params = {"api_key": DEMO_KEY, "api_url": sim.url, "api_timeout": 5, "api_retries": 1, "validate_certs": True}
    with client_from_params(params, proxies={}) as api:
        assert isinstance(api.rate_gate, RateGate)
