# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one HTTP client of the collection.

Pure Python over ``requests``: it knows nothing of AnsibleModule, so the same code runs in a
module process, in an action plugin on the controller, in the inventory plugin and in tests.
It owns authentication, retries (429, transient failures), RFC 7807 error parsing,
cursor pagination and the camelCase -> snake_case conversion of API objects.
"""

from __future__ import annotations

import ipaddress
import json
import math
import random
import re
import threading
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit

try:
    import requests
    from requests import exceptions as requests_errors
except ImportError:  # pragma: no cover - reported by the caller with missing_required_lib
    requests = None
    requests_errors = None
    HAS_REQUESTS = False
else:
    HAS_REQUESTS = True

DEFAULT_API_URL = "https://cloud.hostup.se"

# Statuses after which the request may or may not have been applied by the server.
GATEWAY_STATUSES = frozenset((502, 503, 504))
RATE_LIMIT_STATUS = 429

MAX_SINGLE_WAIT = 300.0
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0

# Far above any real account; a server that keeps handing out cursors is stopped here.
MAX_PAGES = 1000
MAX_ITEMS = 100000
# An answer larger than this is not an API answer.
MAX_BODY_BYTES = 10 * 1024 * 1024
EXCERPT_LENGTH = 200
# requests' own read timeout reports a silent server; the end-to-end deadline, this much later, a trickling one.
DEADLINE_GRACE = 0.25
MASK = "********"
# A key shorter than this is not masked piecemeal (masking two letters would garble messages).
MIN_MASKED_PREFIX = 8

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def mask_secret(value, secret):
    """``value`` (text, or any nesting of dicts and lists) with ``secret`` replaced by ********.

    The secret as given and stripped are masked, and so is any piece of 8 or more of its leading
    characters at the very end of a text, where an excerpt may have cut it. Mask first, then cut.
    """
    secret = secret.strip() if isinstance(secret, str) else ""
    if not secret:
        return value
    if isinstance(value, dict):
        return dict((mask_secret(k, secret), mask_secret(v, secret)) for k, v in value.items())
    if isinstance(value, list):
        return [mask_secret(item, secret) for item in value]
    if not isinstance(value, str):
        return value
    value = value.replace(secret, MASK)
    for length in range(min(len(secret) - 1, len(value)), MIN_MASKED_PREFIX - 1, -1):
        if value.endswith(secret[:length]):
            return value[:-length] + MASK
    return value


def one_line(text):
    """Server text made safe for a terminal: control characters (escape sequences, line breaks) escaped."""
    if not isinstance(text, str):
        return text
    return _CONTROL.sub(lambda match: "\\x%02x" % ord(match.group()), text)


class HostupError(Exception):
    """Base of every expected failure: its message is the one line a user sees."""

    def to_result(self):
        """Extra keys for a failed task's result."""
        return {}


class HostupInputError(HostupError):
    """Bad input, found before any request was sent."""


class HostupApiError(HostupError):
    """An HTTP request that failed: an error status, a redirect, a network failure or an unusable answer."""

    def __init__(self, method, path, status=None, code=None, title=None, detail=None,
                 request_id=None, errors=None, body_excerpt=None, hint=None, reason=None,
                 ambiguous=False, location=None):
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.errors = errors or []
        self.body_excerpt = body_excerpt
        self.hint = hint
        self.reason = reason
        self.location = location
        # True when an earlier attempt of this same call may have been applied by the server
        # (it failed after the request was sent).
        self.ambiguous = ambiguous
        super().__init__(self.message)

    @property
    def message(self):
        """One line: what was called, what came back, HostUp's code, detail and request id, and a hint."""
        head = "%s %s failed: " % (self.method, self.path)
        if self.status is None:
            text = head + (self.reason or "no response")
        else:
            text = head + "HTTP %s" % self.status
            if self.code:
                text += " %s" % self.code
            if self.detail:
                text += ": %s" % self.detail
            elif self.title:
                text += ": %s" % self.title
            elif self.body_excerpt:
                text += ": %s" % self.body_excerpt
            if self.location is not None:
                text += " (redirect to %s, not followed)" % (self.location or "nowhere")
            if self.reason:
                text += " (%s)" % self.reason
            if self.request_id:
                text += " (request %s)" % self.request_id
        if self.errors:
            fields = "; ".join(
                "%s: %s" % (err.get("pointer") or "?", err.get("detail") or err.get("code") or "invalid")
                for err in self.errors if isinstance(err, dict)
            )
            if fields:
                text += " [%s]" % fields
        if self.hint:
            text += ". " + self.hint
        return one_line(text)

    def __str__(self):
        return self.message

    def to_result(self):
        """The problem document as received (``api_error``), for a task's failed result."""
        return {
            "api_error": {
                "status": self.status,
                "code": self.code,
                "title": self.title,
                "detail": self.detail,
                "request_id": self.request_id,
                "errors": self.errors,
            }
        }


class ApiResponse(object):
    """A successful answer: status, parsed JSON body (or None) and headers."""

    def __init__(self, status, data, headers, ambiguous=False):
        self.status = status
        self.data = data
        self.headers = headers
        self.ambiguous = ambiguous


def snake_case(value):
    """Return ``value`` with every dict key turned from camelCase into snake_case, recursively."""
    if isinstance(value, dict):
        return dict((_snake_key(k), snake_case(v)) for k, v in value.items())
    if isinstance(value, list):
        return [snake_case(item) for item in value]
    return value


def _snake_key(key):
    if not isinstance(key, str):
        return key
    return _CAMEL_BOUNDARY.sub("_", key).lower()


def path_id(value, pattern, rule):
    """``value`` checked against ``pattern`` (a resource's id format) and quoted for a URL path."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        shown = json.dumps(value) if isinstance(value, str) else repr(value)
        raise HostupInputError("invalid id %s: %s" % (one_line(shown), rule))
    return quote(value, safe="")


def validate_api_url(api_url):
    """``scheme://host[:port]`` with at most a trailing ``/``; https, or plain http to a loopback host only."""
    if not isinstance(api_url, str) or not api_url.strip():
        raise HostupInputError("api_url must be an https:// URL such as %s" % DEFAULT_API_URL)
    shown = one_line(json.dumps(api_url))
    try:
        parts = urlsplit(api_url.strip())
        host = parts.hostname
        scheme = parts.scheme
        _port = parts.port  # raises ValueError for a malformed port
    except ValueError as exc:
        raise HostupInputError("api_url %s is not a valid http(s) URL (%s)" % (shown, one_line(str(exc)))) from None
    if scheme not in ("http", "https") or not host:
        raise HostupInputError("api_url %s is not a valid http(s) URL" % shown)
    if parts.username is not None or parts.password is not None:
        raise HostupInputError("api_url must not carry credentials; use api_key")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in api_url or "#" in api_url:
        raise HostupInputError("api_url %s must be scheme://host[:port] only, such as %s: a path, query or "
                               "fragment would send requests to the wrong place" % (shown, DEFAULT_API_URL))
    if scheme == "http" and not _is_loopback(host):
        raise HostupInputError(
            "api_url %s uses plain http to a non-loopback host; the API key would travel in clear text. "
            "Use https:// (plain http is allowed only for 127.0.0.0/8, ::1 and localhost)" % shown)
    return api_url.strip().rstrip("/")


def _is_loopback(host):
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_retry_delay(headers, now=None):
    """Seconds to wait before a retry, from Retry-After (seconds or HTTP date), else X-RateLimit-Reset (ISO 8601).

    Returns None when neither header gives a usable value (non-finite numbers included).
    """
    now = now if now is not None else datetime.now(timezone.utc)
    retry_after = headers.get("Retry-After")
    if retry_after:
        retry_after = retry_after.strip()
        try:
            seconds = float(retry_after)
        except ValueError:
            seconds = None
            try:
                when = parsedate_to_datetime(retry_after)
            except (TypeError, ValueError, IndexError, OverflowError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=timezone.utc)
                return max(0.0, (when - now).total_seconds())
        if seconds is not None and math.isfinite(seconds):
            return max(0.0, seconds)
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        when = _parse_iso8601(reset.strip())
        if when is not None:
            return max(0.0, (when - now).total_seconds())
    return None


def _parse_iso8601(text):
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when


class _Answer(object):
    """What one attempt brought back: a response and its body, or the exception that ended it."""

    def __init__(self):
        self.response = None
        self.content = None
        self.exception = None


class HostupClient(object):
    """Talks to the HostUp v2 API. One instance (one HTTP session) per task run or inventory parse.

    Build it with ``_connection.connect``, which gives every caller the same proxies, CA bundle,
    User-Agent and rate gate.
    """

    def __init__(self, api_key, api_url=DEFAULT_API_URL, timeout=30, retries=5, validate_certs=True,
                 user_agent="hostup.cloud", proxies=None, ca_bundle=None, sleep=time.sleep, clock=time.monotonic,
                 rate_gate=None):
        if requests is None:
            raise HostupInputError("the Python library 'requests' is required")
        if not isinstance(api_key, str) or not api_key.strip():
            raise HostupInputError("api_key is required: set it or the HOSTUP_API_KEY environment variable")
        if _CONTROL.search(api_key.strip()):
            # Never quoted: it may be a key file pasted with its comment line.
            raise HostupInputError("api_key contains a line break or another control character; give the key "
                                   "alone, without comments or surrounding lines")
        if timeout is None or timeout <= 0:
            raise HostupInputError("api_timeout must be a positive number of seconds")
        if retries is None or retries < 0:
            raise HostupInputError("api_retries must be 0 or more")
        self.base_url = validate_api_url(api_url)
        self.api_key = api_key.strip()
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep
        self.clock = clock
        # Called with one line per wait (rate limit, a VPS not ready yet) so a person sees why nothing moves.
        self.progress = None
        # A RateGate (see _rate_gate.py) shares 429 waits with the other processes using this key.
        self.rate_gate = rate_gate
        # What this client has spent waiting on rate limits, against its budget of ``retries`` waits.
        self.rate_limit_waited = 0.0
        self.rate_limit_queued = 0.0
        self.rate_limit_budget = retries * MAX_SINGLE_WAIT
        self._session = requests.Session()
        # Proxies and CA bundle come from the caller (the connection factory reads the task's environment),
        # never from this process's environment or ~/.netrc, which could replace the Authorization header.
        self._session.trust_env = False
        if proxies:
            self._session.proxies.update(proxies)
        self._session.verify = (ca_bundle or True) if validate_certs else False
        self._session.headers.update({
            "Authorization": "Bearer %s" % self.api_key,
            "Accept": "application/json",
            "User-Agent": user_agent,
        })
        self.requests_sent = 0
        self.max_pages = MAX_PAGES
        self.max_items = MAX_ITEMS

    def close(self):
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def say(self, line):
        """Report a wait to whoever watches (Ansible's display at -v), masked like everything else."""
        if self.progress is not None:
            self.progress(mask_secret(line, self.api_key))

    # -- the one request path -------------------------------------------------------------------------
    def request(self, method, path, query=None, body=None, scope=None, safe_to_repeat=None, explain=None,
                key_header=None):
        """Send one API call, retrying where that cannot do harm, and return an ApiResponse.

        Retried: every method on 429 and on connection failures where nothing was sent; calls that are
        safe to repeat (GET, and POSTs the caller marks so) also on 502/503/504, timeouts and
        connections dropped mid-answer. Anything else, a redirect included, raises HostupApiError at once.
        ``scope`` names the scope the call needs (for the hint on a 403 ``forbidden``); ``explain``
        gives a resource's own hint for an error (a callable taking the HostupApiError). ``key_header``
        names a header that carries the key as well (HostUp's legacy pages document ``X-API-Key``); like
        every request it goes only to ``api_url``, since redirects are never followed.
        """
        if safe_to_repeat is None:
            safe_to_repeat = method == "GET"
        try:
            headers = {key_header: self.api_key} if key_header else {}
            return self._request_with_retries(method, path, query, body, scope, safe_to_repeat, headers)
        except HostupApiError as exc:
            if explain is not None and exc.hint is None:
                exc.hint = explain(exc)
            raise
        finally:
            if self.rate_gate is not None:
                self.rate_gate.done()

    def _request_with_retries(self, method, path, query, body, scope, safe_to_repeat, headers):
        attempt = 0
        ambiguous = False
        while True:
            attempt += 1
            self._wait_for_rate_gate(method, path, attempt)
            answer = self._send(method, path, query, body, headers)
            if answer.exception is not None:
                error, sent = self._network_failure(method, path, answer.exception)
                ambiguous = ambiguous or sent
                error.ambiguous = ambiguous
                if (sent and not safe_to_repeat) or attempt > self.retries:
                    raise error
                self._pause(self._backoff(attempt), "%s %s: %s; retry %d/%d" % (
                    method, path, error.reason, attempt, self.retries))
                continue
            response, content = answer.response, answer.content
            status = response.status_code
            if status < 300:
                return ApiResponse(status, self._parse_json(method, path, response, content, ambiguous),
                                   response.headers, ambiguous)
            error = self._http_error(method, path, response, content, scope, ambiguous)
            if status == RATE_LIMIT_STATUS:
                self._wait_out_rate_limit(error, response, attempt)
                continue
            if status in GATEWAY_STATUSES and safe_to_repeat and attempt <= self.retries:
                ambiguous = ambiguous or method != "GET"
                delay = parse_retry_delay(response.headers)
                self._pause(self._backoff(attempt) if delay is None else delay,
                            "%s %s: HTTP %s from HostUp; retry %d/%d" % (method, path, status, attempt, self.retries))
                continue
            if method != "GET" and (status in GATEWAY_STATUSES or 300 <= status < 400):
                # The server may have done the work before it answered so.
                error.ambiguous = True
                if status < 400:
                    error.hint = "HostUp may have done the work before redirecting; running the task again is safe"
            raise error

    def _send(self, method, url_path, query, body, headers):
        """One attempt, bounded end to end by ``timeout`` (connect, send, headers and body together).

        requests' own timeout applies per socket read, so a server that trickles bytes would hold the
        task forever; the attempt therefore runs in a helper thread that is abandoned at the deadline.
        """
        answer = _Answer()
        self.requests_sent += 1
        headers = dict(headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        kwargs = dict(params=query, data=None if body is None else json.dumps(body), headers=headers or None,
                      timeout=self.timeout, allow_redirects=False, stream=True)

        def attempt():
            try:
                response = self._session.request(method, self.base_url + url_path, **kwargs)
                chunks = []
                size = 0
                for chunk in response.iter_content(65536):
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        response.close()
                        raise _TooLarge()
                    chunks.append(chunk)
                answer.content = b"".join(chunks)
                answer.response = response
            except Exception as exc:  # pylint: disable=broad-exception-caught  # classified by the caller
                answer.exception = exc

        worker = threading.Thread(target=attempt, name="hostup-request", daemon=True)
        worker.start()
        worker.join(self.timeout + DEADLINE_GRACE)
        if worker.is_alive():
            # The abandoned thread may still write to ``answer``: hand back a fresh one.
            late = _Answer()
            late.exception = _DeadlineExceeded()
            return late
        return answer

    def _wait_for_rate_gate(self, method, path, attempt):
        """Wait for the shared rate gate, within what is left of this client's rate-limit budget."""
        if self.rate_gate is None:
            return
        left = max(0.0, self.rate_limit_budget - self.rate_limit_waited)
        waited = self.rate_gate.before_request(self.sleep, max_wait=left)
        self.rate_limit_waited += float(waited)
        self.rate_limit_queued += getattr(waited, "queued", 0.0)
        if getattr(waited, "expired", False):
            # Sending now would only earn another 429: give up as rate limited, saying how long it waited.
            raise HostupApiError(method, path, reason="rate limited; gave up before attempt %d, %s" % (
                attempt, self._waited_text()))

    def _waited_text(self):
        text = "having waited %.1f s in total for rate limits" % self.rate_limit_waited
        if self.rate_limit_queued >= 0.05:
            text += " (%.1f s queued behind other tasks using this key)" % self.rate_limit_queued
        return text

    def _wait_out_rate_limit(self, error, response, attempt):
        """Wait as HostUp says before the next attempt, or give up once retries or the wait budget are spent."""
        delay = parse_retry_delay(response.headers)
        if delay is None:
            delay = self._backoff(attempt)
        delay = min(delay, MAX_SINGLE_WAIT)
        if self.rate_gate is not None:
            # Also on the last answer: the other processes using this key must learn of the limit.
            self.rate_gate.mark_limited(delay)
        left = self.rate_limit_budget - self.rate_limit_waited
        if attempt > self.retries or delay > left + 0.001:
            error.reason = "rate limited; gave up after %d retries, %s" % (attempt - 1, self._waited_text())
            raise error
        source = "Retry-After" if response.headers.get("Retry-After") else "backoff"
        self.say("rate limited by HostUp: waiting %.0f s (%s), retry %d/%d" % (delay, source, attempt, self.retries))
        if self.rate_gate is not None and self.rate_gate.enabled:
            # The gate waits (before the next attempt) for this process and the others.
            return
        self.rate_limit_waited += delay
        self.sleep(delay)

    def _pause(self, delay, why):
        delay = min(delay, MAX_SINGLE_WAIT)
        self.say("%s; waiting %.0f s" % (why, delay))
        self.sleep(delay)

    def get(self, path, query=None, scope=None, explain=None, key_header=None):
        return self.request("GET", path, query=query, scope=scope, explain=explain, key_header=key_header).data

    def paginate(self, path, query=None, scope=None, page_size=100, explain=None, required=("id",)):
        """Yield every item (a dict holding each of ``required``) of a cursor-paginated list, to the end.

        A server that never stops is cut off after MAX_PAGES pages or MAX_ITEMS items.
        """
        query = dict(query or {})
        query["limit"] = page_size
        seen = set()
        pages = items_read = 0
        while True:
            data = self.get(path, query=query, scope=scope, explain=explain)
            pages += 1
            items = data.get("data") if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise HostupApiError("GET", path, status=200, reason="the answer has no data list")
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    raise HostupApiError("GET", path, status=200, reason="item %d of page %d is a %s, not an object" % (
                        index + 1, pages, type(item).__name__))
                missing = [key for key in required if item.get(key) in (None, "")]
                if missing:
                    raise HostupApiError("GET", path, status=200, reason="item %d of page %d has no %s" % (
                        index + 1, pages, " or ".join(missing)))
            items_read += len(items)
            yield from items
            cursor = data.get("nextCursor")
            if cursor is not None and (not isinstance(cursor, (str, int)) or isinstance(cursor, bool)):
                raise HostupApiError("GET", path, status=200, reason="nextCursor is a %s, not a string" % (
                    type(cursor).__name__))
            if not items or cursor is None or cursor == "" or cursor in seen:
                return
            if pages >= self.max_pages or items_read >= self.max_items:
                raise HostupApiError("GET", path, status=200, reason=(
                    "the list did not end after %d pages and %d items (the limit is %d pages or %d items); "
                    "the server keeps returning a next cursor" % (pages, items_read, self.max_pages, self.max_items)))
            seen.add(cursor)
            query["cursor"] = cursor

    # -- reading answers ------------------------------------------------------------------------------
    def _backoff(self, attempt):
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _excerpt(self, content):
        """The start of a body for a message: the key masked first, then cut, on one line."""
        text = mask_secret(content.decode("utf-8", errors="replace") if content else "", self.api_key)
        text = " ".join(text.split())[:EXCERPT_LENGTH]
        return mask_secret(text, self.api_key)

    def _parse_json(self, method, path, response, content, ambiguous):
        if not content or not content.strip():
            return None
        try:
            return json.loads(content.decode(response.encoding or "utf-8", errors="replace"))
        except (ValueError, RecursionError):
            raise HostupApiError(
                method, path, status=response.status_code,
                reason="the answer is not JSON",
                body_excerpt=self._excerpt(content),
                request_id=response.headers.get("X-Request-Id"), ambiguous=ambiguous) from None

    def _http_error(self, method, path, response, content, scope, ambiguous):
        status = response.status_code
        text = content.decode("utf-8", errors="replace") if content else ""
        problem = None
        try:
            problem = json.loads(text) if text.strip() else None
        except (ValueError, RecursionError):
            problem = None
        request_id = _text_or_none(response.headers.get("X-Request-Id"))
        location = response.headers.get("Location", "") if 300 <= status < 400 else None
        if location:
            location = mask_secret(location, self.api_key)
        if not isinstance(problem, dict):
            return HostupApiError(method, path, status=status, body_excerpt=self._excerpt(content) or response.reason,
                                  request_id=request_id, hint=self._hint(status, None, scope), ambiguous=ambiguous,
                                  location=location)
        problem = mask_secret(problem, self.api_key)
        code = problem.get("code") if isinstance(problem.get("code"), str) else None
        errors = problem.get("errors") if isinstance(problem.get("errors"), list) else []
        return HostupApiError(
            method, path, status=status, code=code,
            title=_text_or_none(problem.get("title")),
            detail=_text_or_none(problem.get("detail") or problem.get("message")),
            request_id=_text_or_none(problem.get("requestId")) or request_id,
            errors=[e for e in errors if isinstance(e, dict)],
            hint=self._hint(status, code, scope), ambiguous=ambiguous, location=location)

    @staticmethod
    def _hint(status, code, scope):
        if status == 401:
            return "Check api_key (or the HOSTUP_API_KEY environment variable): the key is missing, wrong or revoked"
        if status == 403 and scope and code in (None, "forbidden"):
            return "This call needs an API key with the %s scope" % scope
        return None

    def _network_failure(self, method, path, exc):
        """Turn what ended an attempt into a HostupApiError, and say whether the request may have been sent."""
        url = self.base_url + path
        sent = True
        if isinstance(exc, _DeadlineExceeded):
            reason = "no complete answer from %s within %ss (api_timeout bounds each attempt end to end)" % (
                url, self.timeout)
        elif isinstance(exc, _TooLarge):
            reason = "the answer from %s is larger than %d bytes" % (url, MAX_BODY_BYTES)
        elif isinstance(exc, requests_errors.ConnectTimeout):
            sent, reason = False, "timed out connecting to %s" % url
        elif isinstance(exc, requests_errors.ReadTimeout):
            reason = "no answer from %s within %ss (api_timeout)" % (url, self.timeout)
        elif isinstance(exc, requests_errors.SSLError):
            sent, reason = False, "TLS error talking to %s: %s" % (url, _short_reason(exc))
        elif isinstance(exc, requests_errors.ProxyError):
            sent, reason = False, "proxy error reaching %s: %s" % (url, _short_reason(exc))
        elif isinstance(exc, requests_errors.ConnectionError):
            if _nothing_sent(exc):
                sent, reason = False, "could not connect to %s: %s" % (url, _short_reason(exc))
            else:
                reason = "connection to %s dropped before a complete answer: %s" % (url, _short_reason(exc))
        elif isinstance(exc, requests_errors.ChunkedEncodingError):
            reason = "incomplete answer from %s: %s" % (url, _short_reason(exc))
        elif isinstance(exc, requests_errors.RequestException):
            reason = "request to %s failed: %s" % (url, _short_reason(exc))
        else:
            reason = "request to %s failed: %s: %s" % (url, type(exc).__name__, _short_reason(exc))
        return HostupApiError(method, path, reason=mask_secret(reason, self.api_key)), sent


class _DeadlineExceeded(Exception):
    """An attempt outlived api_timeout."""


class _TooLarge(Exception):
    """An answer larger than MAX_BODY_BYTES."""


def _nothing_sent(exc):
    """True when a ConnectionError happened while connecting (refused, unresolvable), before any byte was sent."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    name = type(reason).__name__
    return name in ("NewConnectionError", "ConnectTimeoutError", "NameResolutionError")


def _short_reason(exc):
    """The innermost useful text of a requests exception (urllib3 wraps the cause in layers of repr)."""
    inner = exc
    for _depth in range(6):
        cause = getattr(inner, "reason", None)
        if not isinstance(cause, BaseException):
            cause = inner.args[-1] if inner.args and isinstance(inner.args[-1], BaseException) else None
        if cause is None:
            break
        inner = cause
    text = str(inner) or type(inner).__name__
    match = re.search(r"\[Errno [^\]]+\][^'\")]*", text)
    if match:
        return match.group(0).strip()
    if "Read timed out" in text:
        return " ".join(text[text.index("Read timed out"):].split())[:160]
    if text.startswith(("HTTPConnectionPool", "HTTPSConnectionPool", "<")):
        text = text.split(": ", 1)[-1]
    return " ".join(text.split())[:160]


def _text_or_none(value):
    return value if isinstance(value, str) and value else None
