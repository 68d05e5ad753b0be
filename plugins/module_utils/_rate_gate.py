# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A rate limit shared by every process of one machine that uses one API key against one URL.

With forks > 1 each host's task runs in a process of its own, and each learns of a 429 only from
its own requests. Left alone, every fork retries when its own ``Retry-After`` runs out, they all
meet the limit together, and all but one get another 429. The gate shares what one process
learns with the others:

* After a 429 the process writes until when the API asked it to wait (``limited_until``) to a
  small file named after a hash of the API URL and the key (never the key itself), in a directory
  only this user can write (``$TMPDIR/hostup-cloud-<uid>``, mode 0700).
* Before each request a process reads that time. While it lies ahead, the process sleeps until
  then, holding nothing, so every process facing the same limit wakes at about the same moment.
  Those that slept then send one at a time: each takes the *turn* (an exclusive ``flock`` on a
  second file) and keeps it until its answer is in.
* What the next in turn does depends on how the API answered meanwhile. When requests get
  through (a 429 now and then, as under a token bucket), a process refused right after its turn
  keeps the turn while it waits out the new ``Retry-After`` and sends again; the others stay
  queued and spend none of their retries. When nothing gets through (a 429 that does not clear),
  nobody holds the turn while sleeping: the processes woken together each send once, in turn,
  without re-waiting the ``Retry-After`` the previous one got, so the whole fleet runs out of
  retries in about the time one host would, instead of one host after another.
* Outside a rate limit nobody queues and requests run in parallel.

The files are trusted as little as possible. A value that is not a finite, non-negative time at
most MAX_SINGLE_WAIT seconds ahead is ignored, and no single sleep is longer than that. Anything
but a regular file owned by this user and writable by nobody else (a FIFO, a symlink, a
directory, a device) is never read or locked: it switches the gate off for the process, as does
any other file system trouble (no writable temporary directory, a directory owned by another
user or writable by others, a symlink where the directory should be). Requests then go out as
they would without the gate. The locks are advisory and die with their process, so a killed fork
cannot block the others. POSIX only, like Ansible's controller; where ``fcntl`` is missing the
gate is off.

API (what HostupClient calls; none of these raises):

``RateGate.for_key(api_url, api_key, directory=None, now=time.time, clock=time.monotonic)``
    The gate of this URL and key. ``gate.enabled`` is False when it is off.

``gate.before_request(sleep, max_wait=None) -> GateWait``
    Call before every attempt. Sleeps (with ``sleep(seconds)``) until the shared limit has passed
    and, after such a sleep, queues for the turn. ``max_wait`` bounds the whole call in seconds
    (sleeping and queueing together; None: no bound, queueing blocks as long as it takes; 0: never
    wait). A sleep the budget cannot cover is not started at all: the call returns at once with
    ``expired`` set rather than wait for a limit it cannot outlast. The result is a float, the
    seconds waited in this call (so ``total += gate.before_request(...)`` works), with attributes:

    * ``slept``: seconds spent sleeping until the shared limit passed (Retry-After waits);
    * ``queued``: seconds spent queueing behind other processes using this key;
    * ``turn``: True when this process holds the turn for the request it is about to send;
    * ``expired``: True when ``max_wait`` ran out first: the limit is still in force or others
      are still ahead. The caller should then not send but give up as rate limited (a caller
      that sends anyway risks one more 429, nothing worse). Never set when ``max_wait`` is None.

    ``float(result) == result.slept + result.queued <= max_wait`` (within a scheduling slip).

``gate.mark_limited(seconds)``
    After a 429: the API refuses requests for ``seconds`` from now (capped at MAX_SINGLE_WAIT;
    NaN or a negative value records no wait). The latest end wins.

``gate.done()``
    Once the request is over (answered, or failed for good): gives the turn back.

``gate.limited_until()``
    Epoch seconds until which the API asked to be left alone (0.0 when no valid limit is known).
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
import tempfile
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

# No single wait is longer, and a limit further ahead than this is taken for a broken file.
MAX_SINGLE_WAIT = 300.0
# Between two tries for the turn when the wait is bounded (a blocking flock cannot be).
TURN_POLL = 0.02
# The state file is locked only while it is read or written; longer than this means trouble.
STATE_LOCK_WAIT = 2.0
# The state file holds "<limited until> <last 429 at> <last request let through at>".
_STATE_SIZE = 128
_OPEN_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class GateWait(float):
    """What one ``before_request`` call waited: the total in seconds, with the parts as attributes."""

    __slots__ = ("slept", "queued", "turn", "expired")

    def __new__(cls, slept=0.0, queued=0.0, turn=False, expired=False):
        result = float.__new__(cls, slept + queued)
        result.slept = slept
        result.queued = queued
        result.turn = turn
        result.expired = expired
        return result

    def __repr__(self):
        return "GateWait(slept=%.3f, queued=%.3f, turn=%r, expired=%r)" % (
            self.slept, self.queued, self.turn, self.expired)


class _State(object):
    """The shared file's three times, each already checked (0.0 when absent or not believable)."""

    __slots__ = ("until", "marked", "passed")

    def __init__(self, until=0.0, marked=0.0, passed=0.0):
        self.until = until
        self.marked = marked
        self.passed = passed


class _Budget(object):
    """The seconds one call may still wait, counted as the larger of what was asked and what passed."""

    def __init__(self, clock, max_wait):
        self.clock = clock
        self.limit = max_wait
        self.slept = 0.0
        self.queued = 0.0

    def spent(self):
        return self.slept + self.queued

    def left(self):
        if self.limit is None:
            return math.inf
        return max(0.0, self.limit - self.spent())

    def fits(self, seconds):
        return seconds <= self.left() + 1e-6

    def timed(self, action, seconds):
        """Run ``action(seconds)``; return the seconds it took (never less than ``seconds``)."""
        started = self.clock()
        action(seconds)
        return max(seconds, self.clock() - started)

    def result(self, turn=False, expired=False):
        return GateWait(self.slept, self.queued, turn=turn, expired=expired)


class RateGate(object):
    """See the module docstring. No method raises; trouble switches the gate off."""

    def __init__(self, path, now=time.time, clock=time.monotonic):
        self.path = path
        self.now = now
        self.clock = clock
        self.enabled = fcntl is not None
        # Who must own the files; anything else is someone else's and switches the gate off.
        geteuid = getattr(os, "geteuid", None)
        self.uid = geteuid() if geteuid is not None else None
        self._turn_fd = None
        self._sent = False  # this process sent while holding the turn, and its answer is not settled
        self._refused = False  # ... and that answer was a 429 (mark_limited came after the send)
        self._episode = None  # when this request first had to wait (wall clock), until done()

    @classmethod
    def for_key(cls, api_url, api_key, directory=None, now=time.time, clock=time.monotonic):
        """The gate of this URL and key, in a directory private to this user."""
        if not isinstance(api_url, str) or not isinstance(api_key, str):
            gate = cls(os.devnull, now=now, clock=clock)
            gate.enabled = False
            return gate
        digest = hashlib.sha256(("%s\n%s" % (api_url.rstrip("/"), api_key.strip())).encode("utf-8")).hexdigest()
        if directory is None:
            getuid = getattr(os, "getuid", None)
            user = getuid() if getuid is not None else "user"
            directory = os.path.join(tempfile.gettempdir(), "hostup-cloud-%s" % user)
        gate = cls(os.path.join(directory, "rate-%s" % digest[:32]), now=now, clock=clock)
        if not gate.enabled or not _private_directory(directory, gate.uid):
            gate.enabled = False
        return gate

    # -- what the client calls -------------------------------------------------------------------
    def before_request(self, sleep, max_wait=None):
        """Wait until this process may send; return a GateWait (see the module docstring)."""
        budget = _Budget(self.clock, _bound(max_wait))
        try:
            return self._before_request(sleep, budget)
        except Exception:  # pylint: disable=broad-exception-caught  # the gate must never fail a task
            self._release()
            self.enabled = False
            return budget.result()

    def mark_limited(self, seconds):
        """Record that the API refuses requests for ``seconds`` from now; the latest end wins."""
        if self._sent:
            self._refused = True
        if not self.enabled:
            return
        try:
            seconds = float(seconds)
        except (TypeError, ValueError):
            return
        if math.isnan(seconds):
            return
        now = self.now()
        until = now + min(max(seconds, 0.0), MAX_SINGLE_WAIT)

        def update(state):
            state.until = max(state.until, until)
            state.marked = now
        self._update_state(update)

    def done(self):
        """Give the turn back (after the request succeeded or failed for good)."""
        try:
            self._settle()
        finally:
            self._release()
            self._episode = None

    def limited_until(self):
        """Epoch seconds until which the API asked to be left alone (0.0 when never or not believable)."""
        return self._read_state().until

    # -- the waiting ----------------------------------------------------------------------------------
    def _before_request(self, sleep, budget):
        if not self.enabled:
            return budget.result()
        if self._turn_fd is not None:
            refused = self._sent and self._refused
            self._settle()
            if refused and self._getting_through(self._read_state()):
                # Requests get through now and then: keep the turn, wait out this 429 and go again.
                return self._wait_holding_turn(sleep, budget)
            self._release()
        slept_to = None  # the limit this call has slept out
        while True:
            state = self._read_state()
            if not self.enabled:
                return budget.result()
            if self._must_sleep(state, slept_to):
                wait = min(state.until - self.now(), MAX_SINGLE_WAIT)
                if not budget.fits(wait):
                    return budget.result(expired=True)
                if self._episode is None:
                    self._episode = self.now()
                budget.slept += budget.timed(sleep, wait)
                slept_to = state.until
                continue
            if slept_to is None:
                return budget.result()  # nobody is limited: no turn, requests run in parallel
            if not self._take_turn(sleep, budget):
                return budget.result(expired=self.enabled)
            state = self._read_state()
            if state.until > max(self.now(), slept_to):  # a limit newer than the one slept out
                if self._must_sleep(state, slept_to):
                    # It was set before ours ran out: sleep with the others.
                    self._release()
                    continue
                if self._getting_through(state):
                    # Someone was refused while this process queued, yet requests get through:
                    # wait that 429 out holding the turn, so the ones behind keep their retries.
                    return self._wait_holding_turn(sleep, budget)
            # Either the limit is over, or a 429 came in this wake-up and none gets through:
            # then every process woken together sends once, in turn, instead of re-waiting.
            self._sent = True
            return budget.result(turn=True)

    def _must_sleep(self, state, slept_to):
        """True while a limit lies ahead that this call has not slept out and did not start after it woke."""
        if state.until <= self.now():
            return False
        if slept_to is None:
            return True
        return state.until > slept_to and state.marked < slept_to

    def _getting_through(self, state):
        """True when a request was let through since this request began waiting."""
        return self._episode is not None and state.passed >= self._episode

    def _wait_holding_turn(self, sleep, budget):
        wait = min(self._read_state().until - self.now(), MAX_SINGLE_WAIT)
        if wait > 0:
            if not budget.fits(wait):
                self._release()
                return budget.result(expired=True)
            budget.slept += budget.timed(sleep, wait)
        self._sent = True
        return budget.result(turn=True)

    def _take_turn(self, sleep, budget):
        """Hold the turn (an exclusive flock on ``<path>.turn``) within the budget; False when not had."""
        if self._turn_fd is not None:
            return True
        fd = self._open(self.path + ".turn", os.O_RDWR | os.O_CREAT)
        if fd is None:
            return False
        try:
            if budget.limit is None:
                started = self.clock()
                fcntl.flock(fd, fcntl.LOCK_EX)
                budget.queued += max(0.0, self.clock() - started)
            else:
                while not _try_lock(fd, fcntl.LOCK_EX):
                    pause = min(TURN_POLL, budget.left())
                    if pause <= 0:
                        os.close(fd)
                        return False
                    budget.queued += budget.timed(sleep, pause)
        except OSError:
            os.close(fd)
            self.enabled = False
            return False
        self._turn_fd = fd
        return True

    def _settle(self):
        """Note the answer to this process's last request in its turn: let through unless refused."""
        if self._turn_fd is not None and self._sent and not self._refused and self.enabled:
            now = self.now()

            def update(state):
                state.passed = max(state.passed, now)
            self._update_state(update)
        self._sent = False
        self._refused = False

    def _release(self):
        if self._turn_fd is not None:
            try:
                os.close(self._turn_fd)  # closing releases the flock
            except OSError:
                pass
            self._turn_fd = None

    # -- the files --------------------------------------------------------------------------------------
    def _open(self, path, flags):
        """A descriptor of the regular file ``path`` if it is this user's alone; None otherwise.

        Opened without following a symlink and without blocking (a FIFO would otherwise hang the
        open), then checked before anything reads or locks it. Anything but a missing file
        switches the gate off.
        """
        try:
            fd = os.open(path, flags | _OPEN_FLAGS, 0o600)
        except FileNotFoundError:
            return None
        except OSError:
            self.enabled = False
            return None
        try:
            info = os.fstat(fd)
            trusted = (stat.S_ISREG(info.st_mode) and not info.st_mode & 0o022
                       and (self.uid is None or info.st_uid == self.uid))
        except OSError:
            trusted = False
        if not trusted:
            os.close(fd)
            self.enabled = False
            return None
        return fd

    def _read_state(self):
        if not self.enabled:
            return _State()
        fd = self._open(self.path, os.O_RDONLY)
        if fd is None:
            return _State()
        try:
            if not _lock_briefly(fd, fcntl.LOCK_SH):
                self.enabled = False
                return _State()
            return _parse(os.pread(fd, _STATE_SIZE, 0), self.now())
        except OSError:
            self.enabled = False
            return _State()
        finally:
            os.close(fd)

    def _update_state(self, change):
        if not self.enabled:
            return
        fd = self._open(self.path, os.O_RDWR | os.O_CREAT)
        if fd is None:
            return
        try:
            if not _lock_briefly(fd, fcntl.LOCK_EX):
                self.enabled = False
                return
            state = _parse(os.pread(fd, _STATE_SIZE, 0), self.now())
            change(state)
            text = ("%.6f %.6f %.6f\n" % (state.until, state.marked, state.passed)).encode("ascii")
            os.ftruncate(fd, 0)
            os.pwrite(fd, text, 0)
        except OSError:
            self.enabled = False
        finally:
            os.close(fd)


def _bound(max_wait):
    """``max_wait`` as a number of seconds >= 0, or None for no bound (None or +inf)."""
    if max_wait is None:
        return None
    try:
        value = float(max_wait)
    except (TypeError, ValueError):
        return 0.0
    if math.isnan(value):
        return 0.0
    if math.isinf(value) and value > 0:
        return None
    return max(0.0, value)


def _parse(data, now):
    """The state file's text as a _State, dropping any value that is not a believable time."""
    try:
        fields = data.decode("ascii").split()
    except UnicodeDecodeError:
        return _State()
    values = []
    for field in fields[:3]:
        try:
            value = float(field)
        except ValueError:
            value = 0.0
        values.append(value if math.isfinite(value) and value > 0 else 0.0)
    values += [0.0] * (3 - len(values))
    until, marked, passed = values
    if until - now > MAX_SINGLE_WAIT + 1.0:  # a second's slack for rounding and the time since it was written
        until = 0.0
    # Both are moments that have happened; one ahead of now comes from a broken file.
    marked = marked if marked <= now + 1.0 else 0.0
    passed = passed if passed <= now + 1.0 else 0.0
    return _State(until, marked, passed)


def _try_lock(fd, kind):
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock_briefly(fd, kind):
    deadline = time.monotonic() + STATE_LOCK_WAIT
    while not _try_lock(fd, kind):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _private_directory(directory, uid):
    """Create ``directory`` (mode 0700) if needed; True when it is a real directory only this user can write."""
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return False
    try:
        info = os.lstat(directory)
    except OSError:
        return False
    owner_ok = uid is None or info.st_uid == uid
    return stat.S_ISDIR(info.st_mode) and owner_ok and not info.st_mode & 0o022
