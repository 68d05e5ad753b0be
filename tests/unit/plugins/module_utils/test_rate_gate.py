# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shared rate gate: after one client meets a 429, the others using the same key and URL send
nothing until the wait is over, and take turns; waits are bounded; anything odd on disk switches
the gate off without ever blocking on it."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest

from ansible_collections.hostup.cloud.plugins.module_utils import _rate_gate
from ansible_collections.hostup.cloud.plugins.module_utils._client import HostupApiError, HostupClient
from ansible_collections.hostup.cloud.plugins.module_utils._connection import connect
from ansible_collections.hostup.cloud.plugins.module_utils._rate_gate import RateGate

# The folder that holds ansible_collections/, wherever the tests run from (a checkout or ansible-test's copy).
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(_rate_gate.__file__), *[".."] * 5))

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


def run_in_thread(function, daemon=False):
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except Exception as exc:  # reported by the test's assertion
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=daemon)
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
    assert abs(float(data.split()[0]) - time.time()) < 5


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
    with connect(params, environ={}) as api:
        assert isinstance(api.rate_gate, RateGate)


# -- the gate's own files: believed only when sane, never blocked on ------------------------------------

class Sleeps(object):
    """A sleep that only records: the gate's waits are asserted exactly and nothing really waits."""

    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


def gate_in(directory):
    gate = RateGate.for_key("http://127.0.0.1:1", DEMO_KEY, directory=str(directory))
    assert gate.enabled
    return gate


def write_file(path, text, mode=0o600):
    """Write ``text`` as another process of this user would (mode 0600 whatever the umask)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, text.encode("ascii") if isinstance(text, str) else text)
    finally:
        os.close(fd)


def run_bounded(function, timeout=5.0):
    """Call ``function`` in a daemon thread; fail the test (instead of hanging) when it takes too long."""
    thread, outcome = run_in_thread(function, daemon=True)
    thread.join(timeout)
    assert not thread.is_alive(), "the gate blocked for more than %s s" % timeout
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.parametrize("content", ["nan", "inf", "-inf", "-1", "1e30", "a day ahead", "garbage", b"\xff\xfe\x00"])
def test_a_limit_that_is_no_believable_time_is_ignored_and_replaced(tmp_path, content):
    gate = gate_in(tmp_path)
    write_file(gate.path, "%.3f" % (time.time() + 86400) if content == "a day ahead" else content)
    assert gate.limited_until() == 0.0
    sleeps = Sleeps()
    assert run_bounded(lambda: gate.before_request(sleeps)) == 0.0
    assert sleeps.calls == [] and gate.enabled
    gate.done()
    # The next 429 writes a sane limit over it.
    gate.mark_limited(2)
    assert 1.0 < gate.limited_until() - time.time() <= 2.01


def test_a_wait_is_never_recorded_or_slept_longer_than_the_cap(tmp_path):
    gate = gate_in(tmp_path)
    gate.mark_limited(float("nan"))
    gate.mark_limited(-5)
    assert gate.limited_until() <= time.time() + 0.01  # "now", written to the millisecond
    gate.mark_limited(float("inf"))
    assert _rate_gate.MAX_SINGLE_WAIT - 10 < gate.limited_until() - time.time() <= _rate_gate.MAX_SINGLE_WAIT + 0.01
    sleeps = Sleeps()
    waited = gate.before_request(sleeps)
    gate.done()
    assert len(sleeps.calls) == 1 and 0 < sleeps.calls[0] <= _rate_gate.MAX_SINGLE_WAIT
    assert waited == pytest.approx(sleeps.calls[0], abs=0.01)


def make_odd_file(kind, path, gate):
    """Put something other than a regular file of this user's alone at ``path``; each holds a limit."""
    limit = "%.3f" % (time.time() + 30)
    if kind == "fifo":
        os.mkfifo(path, 0o600)
    elif kind == "symlink":
        write_file(path + ".elsewhere", limit)
        os.symlink(path + ".elsewhere", path)
    elif kind == "directory":
        os.mkdir(path, 0o700)
    elif kind == "world-writable":
        write_file(path, limit)
        os.chmod(path, 0o666)
    elif kind == "group-writable":
        write_file(path, limit)
        os.chmod(path, 0o620)
    elif kind == "other owner":
        write_file(path, limit)
        if os.geteuid() == 0:
            os.chown(path, 65534, 65534)  # a real file of another user
        else:  # without root nobody can give a file away: the gate is told to expect another owner
            gate.uid = os.geteuid() + 1


@pytest.mark.parametrize("which", ["state", "turn"])
@pytest.mark.parametrize("kind", ["fifo", "symlink", "directory", "world-writable", "group-writable", "other owner"])
def test_anything_but_a_private_regular_file_switches_the_gate_off_without_blocking(tmp_path, kind, which):
    gate = gate_in(tmp_path)
    if which == "turn":
        # A short limit of its own makes the gate sleep, then go for the turn file.
        write_file(gate.path, "%.3f" % (time.time() + 0.5))
    path = gate.path if which == "state" else gate.path + ".turn"
    make_odd_file(kind, path, gate)
    sleeps = Sleeps()
    try:
        waited = run_bounded(lambda: gate.before_request(sleeps))
        gate.done()
    finally:
        if kind == "fifo":  # let a reader stuck in open() go (only ever needed when the gate blocks)
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
    assert not gate.enabled
    if which == "state":
        # The odd file's limit (30 s) was never believed.
        assert sleeps.calls == [] and waited == 0.0
    else:  # at most its own short limit, slept before it went for the turn
        assert all(seconds <= 0.51 for seconds in sleeps.calls)
    # Switched off, it waits for nothing and touches nothing.
    gate.mark_limited(5)
    assert gate.before_request(sleeps) == 0.0 and len(sleeps.calls) <= 1


# -- bounded waits and what they report ------------------------------------------------------------------

def test_max_wait_bounds_the_sleep_for_the_shared_limit(tmp_path):
    gate = gate_in(tmp_path)
    gate.mark_limited(5)
    sleeps = Sleeps()
    # A limit the budget cannot outlast is not slept on at all.
    short = gate.before_request(sleeps, max_wait=1)
    assert (short.expired, short.turn, float(short), sleeps.calls) == (True, False, 0.0, [])
    enough = gate.before_request(sleeps, max_wait=10)
    gate.done()
    assert (enough.expired, enough.turn, enough.queued) == (False, True, 0.0)
    assert len(sleeps.calls) == 1 and 4.0 < sleeps.calls[0] <= 5.01
    assert enough.slept == pytest.approx(sleeps.calls[0], abs=0.01)
    # The result adds up as a plain float, as the client sums what it waited.
    total = 0.0
    total += enough
    assert not isinstance(total, _rate_gate.GateWait) and total == enough.slept + enough.queued


def test_max_wait_bounds_the_queue_for_the_turn_and_the_result_tells_queueing_from_sleeping(tmp_path):
    gate = gate_in(tmp_path)
    other = os.open(gate.path + ".turn", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(other, fcntl.LOCK_EX)  # another task using this key holds the turn
    try:
        gate.mark_limited(0.2)
        started = time.monotonic()
        result = run_bounded(lambda: gate.before_request(time.sleep, max_wait=0.8))
        elapsed = time.monotonic() - started
    finally:
        os.close(other)
    gate.done()
    assert result.expired and not result.turn
    assert 0.1 <= result.slept <= 0.6 and result.queued >= 0.2
    assert float(result) == pytest.approx(result.slept + result.queued)
    # Bounded by max_wait (plus one short poll's slip), on the result and on the wall clock.
    assert float(result) <= 0.8 + 0.2 and elapsed <= 0.8 + 1.0
    # With the turn free, the next call takes it.
    gate.mark_limited(0.1)
    free = run_bounded(lambda: gate.before_request(time.sleep, max_wait=3))
    gate.done()
    assert free.turn and not free.expired and free.queued < 0.5


def test_max_wait_zero_never_waits(tmp_path):
    gate = gate_in(tmp_path)
    gate.mark_limited(0.5)
    sleeps = Sleeps()
    result = gate.before_request(sleeps, max_wait=0)
    assert result.expired and float(result) == 0.0 and sleeps.calls == []


def spawn(script, *args):
    """Run ``script`` in a Python process of its own that imports this collection."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([COLLECTIONS_ROOT] + sys.path), HOSTUP_TEST_KEY=DEMO_KEY)
    return subprocess.Popen([sys.executable, "-c", script] + list(args), env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


TURN_HOLDER = """
import os, sys, time
from ansible_collections.hostup.cloud.plugins.module_utils._rate_gate import RateGate
gate = RateGate.for_key(sys.argv[1], os.environ["HOSTUP_TEST_KEY"], directory=sys.argv[2])
gate.mark_limited(0.05)
gate.before_request(time.sleep)
print("turn" if gate.enabled else "gate off", flush=True)
time.sleep(60)
"""


def test_a_killed_turn_holder_blocks_nobody(tmp_path):
    holder = spawn(TURN_HOLDER, "http://127.0.0.1:1", str(tmp_path))
    try:
        assert holder.stdout.readline().strip() == "turn", holder.stderr.read()
        gate = gate_in(tmp_path)
        gate.mark_limited(0.05)
        queued = run_bounded(lambda: gate.before_request(time.sleep, max_wait=0.3))
        assert queued.expired and not queued.turn
        holder.kill()
        holder.wait(5)
        gate.mark_limited(0.05)
        after = run_bounded(lambda: gate.before_request(time.sleep, max_wait=3))
        gate.done()
        assert after.turn and not after.expired
    finally:
        holder.kill()
        holder.communicate()


FLEET_MEMBER = """
import json, os, sys, time
from ansible_collections.hostup.cloud.plugins.module_utils._client import HostupApiError, HostupClient
from ansible_collections.hostup.cloud.plugins.module_utils._rate_gate import RateGate
url, directory = sys.argv[1:3]
key = os.environ["HOSTUP_TEST_KEY"]
gate = RateGate.for_key(url, key, directory=directory)
client = HostupClient(api_key=key, api_url=url, timeout=5, retries=2, rate_gate=gate, proxies={})
print("ready" if gate.enabled else "gate off", flush=True)
sys.stdin.readline()
started = time.time()
try:
    client.get("/api/v2/vps")
    error = ""
except HostupApiError as exc:
    error = str(exc)
print(json.dumps({"started": started, "ended": time.time(), "sent": client.requests_sent, "error": error}))
"""


def test_under_a_429_that_never_clears_the_fleet_fails_about_as_fast_as_one_host(sim, tmp_path):
    # Six forks, two retries each, Retry-After: 1. One host alone fails after two 1 s waits; taking
    # turns host after host, the sixth would fail after about six times that.
    sim.fault(method="GET", path="/api/v2/vps", status=429, headers={"Retry-After": "1"}, persist=True)
    members = [spawn(FLEET_MEMBER, sim.url, str(tmp_path)) for dummy in range(6)]
    try:
        for member in members:  # all imported and ready before the clock starts
            assert member.stdout.readline().strip() == "ready", member.stderr.read()
        for member in members:
            member.stdin.write("go\n")
            member.stdin.flush()
        results = [json.loads(member.communicate(timeout=40)[0]) for member in members]
    finally:
        for member in members:
            member.kill()
            member.communicate()
    assert all("rate limited; gave up after 2 retries" in result["error"] for result in results), results
    assert [result["sent"] for result in results] == [3] * 6
    assert sim.statuses() == [429] * 18
    one_host = 2 * 1.0
    fleet = max(result["ended"] for result in results) - min(result["started"] for result in results)
    assert fleet < 3 * one_host, "the fleet took %.1f s" % fleet
