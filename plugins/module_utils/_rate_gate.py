# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A rate limit shared by every process of one machine that uses one API key against one URL.

With forks > 1 each host's task runs in a process of its own, and each learns of a 429 only from
its own requests. Left alone, every fork retries when its own ``Retry-After`` runs out, they all
meet the limit together, and all but one get another 429: a play of 50 hosts under a limit of
one request per second collects hundreds of them. The gate makes the forks take turns instead:

* After a 429 the process writes until when the API asked it to wait (``limited_until``) to a
  small file named after a hash of the API URL and the key (never the key itself).
* Before each request a process reads that time. While it lies ahead, the process queues for the
  *turn* (an exclusive ``flock`` on a second file), waits out the time, sends, and keeps the turn
  through its own retries, so one process at a time meets the limit and its queued fellows send
  nothing until it is through. Outside a rate limit nobody queues and requests run in parallel.

The locks are advisory and die with their process, so a killed fork cannot block the others. Any
file system trouble (no writable temporary directory, a directory owned by another user, a
symlink where the directory should be) switches the gate off for the process: requests then go
out as they would without it. POSIX only, like Ansible's controller; where ``fcntl`` is missing
the gate is off.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None


class RateGate(object):
    """See the module docstring. ``before_request`` and ``mark_limited`` never raise."""

    def __init__(self, path, now=time.time):
        self.path = path
        self.now = now
        self._turn_fd = None
        self.enabled = fcntl is not None

    @classmethod
    def for_key(cls, api_url, api_key, directory=None, now=time.time):
        """The gate of this URL and key, in a directory private to this user."""
        if not isinstance(api_url, str) or not isinstance(api_key, str):
            gate = cls(os.devnull, now=now)
            gate.enabled = False
            return gate
        digest = hashlib.sha256(("%s\n%s" % (api_url.rstrip("/"), api_key.strip())).encode("utf-8")).hexdigest()
        if directory is None:
            getuid = getattr(os, "getuid", None)
            user = getuid() if getuid is not None else "user"
            directory = os.path.join(tempfile.gettempdir(), "hostup-cloud-%s" % user)
        gate = cls(os.path.join(directory, "rate-%s" % digest[:32]), now=now)
        if not gate.enabled or not _private_directory(directory):
            gate.enabled = False
        return gate

    # -- what the client calls -------------------------------------------------------------------
    def before_request(self, sleep):
        """Wait for this process's turn and for the shared limit to pass; return the seconds slept."""
        if not self.enabled:
            return 0.0
        if self._turn_fd is None and self.limited_until() <= self.now():
            return 0.0
        if not self._take_turn():
            return 0.0
        wait = self.limited_until() - self.now()
        if wait <= 0:
            return 0.0
        sleep(wait)
        return wait

    def mark_limited(self, seconds):
        """Record that the API refuses requests for ``seconds`` from now; the latest end wins."""
        if not self.enabled:
            return
        until = self.now() + seconds
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError:
            self.enabled = False
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            current = _parse(os.pread(fd, 64, 0))
            if until > current:
                text = ("%.3f" % until).encode("ascii")
                os.ftruncate(fd, 0)
                os.pwrite(fd, text, 0)
        except OSError:
            self.enabled = False
        finally:
            os.close(fd)

    def done(self):
        """Give the turn back (after the request succeeded or failed for good)."""
        if self._turn_fd is not None:
            try:
                os.close(self._turn_fd)  # closing releases the flock
            except OSError:
                pass
            self._turn_fd = None

    # -- helpers ------------------------------------------------------------------------------------
    def limited_until(self):
        """Epoch seconds until which the API asked to be left alone (0 when never)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return 0.0
        except OSError:
            self.enabled = False
            return 0.0
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            return _parse(os.pread(fd, 64, 0))
        except OSError:
            return 0.0
        finally:
            os.close(fd)

    def _take_turn(self):
        if self._turn_fd is not None:
            return True
        try:
            fd = os.open(self.path + ".turn", os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError:
            self.enabled = False
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            os.close(fd)
            self.enabled = False
            return False
        self._turn_fd = fd
        return True


def _parse(data):
    try:
        return float(data.decode("ascii").strip() or 0)
    except (UnicodeDecodeError, ValueError):
        return 0.0


def _private_directory(directory):
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
    getuid = getattr(os, "getuid", None)
    owner_ok = getuid is None or info.st_uid == getuid()
    return stat.S_ISDIR(info.st_mode) and owner_ok and not info.st_mode & 0o022
