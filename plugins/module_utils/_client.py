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
import random
import re
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

# Scopes each kind of call needs, so that a 403 `forbidden` can say which one is missing.
SCOPE_READ_VM = "read:vm"
SCOPE_READ_SUPPORT = "read:support"
SCOPE_WRITE_SUPPORT = "write:support"

# Statuses after which the request may or may not have been applied by the server.
GATEWAY_STATUSES = frozenset((502, 503, 504))
RATE_LIMIT_STATUS = 429

MAX_SINGLE_WAIT = 300.0
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0

_VPS_ID = re.compile(r"^vps_[A-Za-z0-9]{1,64}$")
_TICKET_ID = re.compile(r"^(tkt_[A-Za-z0-9]{1,64}|[0-9]{1,20})$")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class HostupError(Exception):
    """Base of every expected failure: its message is the one line a user sees."""

    def to_result(self):
        """Extra keys for a failed task's result."""
        return {}


class HostupInputError(HostupError):
    """Bad input, found before any request was sent."""


class HostupApiError(HostupError):
    """An HTTP request that failed: an error status, a network failure or an unreadable body."""

    def __init__(self, method, path, status=None, code=None, title=None, detail=None,
                 request_id=None, errors=None, body_excerpt=None, hint=None, reason=None,
                 ambiguous=False):
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
        # True when an earlier attempt of this same call may have been applied by the server
        # (it failed after the request was sent).
        self.ambiguous = ambiguous
        super().__init__(self.message)

    @property
    def message(self):
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
        return text

    def __str__(self):
        return self.message

    def to_result(self):
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


def vps_path_id(value):
    """Validate a public VPS id and return it ready for a URL path."""
    return _path_id(value, _VPS_ID, "a VPS id must look like vps_<letters and digits>")


def ticket_path_id(value):
    """Validate a ticket id (tkt_... or the numeric ticket number) and return it ready for a URL path."""
    return _path_id(value, _TICKET_ID, "a ticket id must be tkt_<letters and digits> or a numeric ticket number")


def _path_id(value, pattern, rule):
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise HostupInputError("invalid id %s: %s" % (json.dumps(value) if isinstance(value, str) else repr(value), rule))
    return quote(value, safe="")


def validate_api_url(api_url):
    """Refuse anything but https, and plain http to a loopback host: a key must not cross a network in clear."""
    if not isinstance(api_url, str) or not api_url.strip():
        raise HostupInputError("api_url must be an https:// URL such as %s" % DEFAULT_API_URL)
    try:
        parts = urlsplit(api_url.strip())
        host = parts.hostname
        scheme = parts.scheme
        _port = parts.port  # raises ValueError for a malformed port
    except ValueError:
        host = scheme = None
    if scheme not in ("http", "https") or not host:
        raise HostupInputError("api_url %s is not a valid http(s) URL" % json.dumps(api_url))
    if parts.username or parts.password:
        raise HostupInputError("api_url must not carry credentials; use api_key")
    if scheme == "http" and not _is_loopback(host):
        raise HostupInputError(
            "api_url %s uses plain http to a non-loopback host; the API key would travel in clear text. "
            "Use https:// (plain http is allowed only for 127.0.0.0/8, ::1 and localhost)" % json.dumps(api_url))
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

    Returns None when neither header gives a usable value.
    """
    now = now if now is not None else datetime.now(timezone.utc)
    retry_after = headers.get("Retry-After")
    if retry_after:
        retry_after = retry_after.strip()
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                when = parsedate_to_datetime(retry_after)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=timezone.utc)
                return max(0.0, (when - now).total_seconds())
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
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when


def _excerpt(text, limit=200):
    return " ".join((text or "").split())[:limit]


class HostupClient(object):
    """Talks to the HostUp v2 API. One instance (one HTTP session) per task run or inventory parse."""

    def __init__(self, api_key, api_url=DEFAULT_API_URL, timeout=30, retries=5, validate_certs=True,
                 user_agent="hostup.cloud", proxies=None, ca_bundle=None, sleep=time.sleep, clock=time.monotonic,
                 rate_gate=None):
        if requests is None:
            raise HostupInputError("the Python library 'requests' is required")
        if not isinstance(api_key, str) or not api_key.strip():
            raise HostupInputError("api_key is required: set it or the HOSTUP_API_KEY environment variable")
        if timeout is None or timeout <= 0:
            raise HostupInputError("api_timeout must be a positive number of seconds")
        if retries is None or retries < 0:
            raise HostupInputError("api_retries must be 0 or more")
        self.base_url = validate_api_url(api_url)
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep
        self.clock = clock
        # A RateGate (see _rate_gate.py) shares 429 waits with the other processes using this key.
        self.rate_gate = rate_gate
        self._session = requests.Session()
        # A caller that passes ``proxies`` (the controller-side actions, from the task's environment) gets
        # exactly those: this process's environment is then not read, so one task's settings cannot leak
        # into another's. Without it (a module process) requests reads the environment as usual.
        self._session.trust_env = proxies is None
        if proxies:
            self._session.proxies.update(proxies)
        # Without trust_env requests no longer reads REQUESTS_CA_BUNDLE itself, so the caller passes it.
        self._session.verify = (ca_bundle or True) if validate_certs else False
        self._session.headers.update({
            "Authorization": "Bearer %s" % api_key.strip(),
            "Accept": "application/json",
            "User-Agent": user_agent,
        })
        self.requests_sent = 0

    def close(self):
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- the one request path -------------------------------------------------------------------------
    def request(self, method, path, query=None, body=None, scope=None, safe_to_repeat=None):
        """Send one API call, retrying where that cannot do harm, and return an ApiResponse.

        Retried: every method on 429 and on connection failures where nothing was sent; calls that are
        safe to repeat (GET, and POSTs the caller marks so) also on 502/503/504, read timeouts and
        connections dropped mid-answer. Anything else raises HostupApiError at once.
        """
        if safe_to_repeat is None:
            safe_to_repeat = method == "GET"
        try:
            return self._request(method, path, query, body, scope, safe_to_repeat)
        finally:
            if self.rate_gate is not None:
                self.rate_gate.done()

    def _request(self, method, path, query, body, scope, safe_to_repeat):
        url = self.base_url + path
        attempt = 0
        waited = 0.0
        rate_limited = 0
        ambiguous = False
        while True:
            attempt += 1
            failure = None
            if self.rate_gate is not None:
                waited += self.rate_gate.before_request(self.sleep)
            try:
                self.requests_sent += 1
                response = self._session.request(
                    method, url, params=query,
                    data=None if body is None else json.dumps(body),
                    headers={"Content-Type": "application/json"} if body is not None else None,
                    timeout=self.timeout, allow_redirects=False)
                content = response.content
            except Exception as exc:  # classified below; never leaks as a traceback
                failure = self._network_failure(method, path, url, exc, ambiguous)
                sent = failure.reason_sent
                retryable = (not sent) or safe_to_repeat
                if sent:
                    ambiguous = True
                if not retryable or attempt > self.retries:
                    failure.error.ambiguous = ambiguous
                    raise failure.error
                delay = self._backoff(attempt)
            else:
                status = response.status_code
                if status < 400:
                    return ApiResponse(status, self._parse_json(method, path, response, content, ambiguous),
                                       response.headers, ambiguous)
                error = self._http_error(method, path, response, content, scope, ambiguous)
                if status == RATE_LIMIT_STATUS:
                    rate_limited += 1
                    if attempt > self.retries:
                        error.reason = "rate limited; gave up after %d retries, having waited %.1fs in total" % (
                            self.retries, waited)
                        raise error
                    delay = parse_retry_delay(response.headers)
                    if delay is None:
                        delay = self._backoff(attempt)
                    delay = min(delay, MAX_SINGLE_WAIT)
                    if self.rate_gate is not None:
                        self.rate_gate.mark_limited(delay)
                        if self.rate_gate.enabled:
                            # The gate waits (before the next attempt) for this process and the others.
                            continue
                elif status in GATEWAY_STATUSES and safe_to_repeat and attempt <= self.retries:
                    ambiguous = ambiguous or method != "GET"
                    delay = parse_retry_delay(response.headers)
                    if delay is None:
                        delay = self._backoff(attempt)
                else:
                    if status in GATEWAY_STATUSES and method != "GET":
                        error.ambiguous = True
                    raise error
            delay = min(delay, MAX_SINGLE_WAIT)
            waited += delay
            self.sleep(delay)

    def get(self, path, query=None, scope=None):
        return self.request("GET", path, query=query, scope=scope).data

    def paginate(self, path, query=None, scope=None, page_size=100):
        """Yield every item of a cursor-paginated list, following nextCursor to the end."""
        query = dict(query or {})
        query["limit"] = page_size
        seen = set()
        while True:
            data = self.get(path, query=query, scope=scope)
            items = data.get("data") if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise HostupApiError("GET", path, status=200, reason="the answer has no data list")
            yield from items
            cursor = data.get("nextCursor")
            if not items or not cursor or cursor in seen:
                return
            seen.add(cursor)
            query["cursor"] = cursor

    # -- helpers ----------------------------------------------------------------------------------------
    def _backoff(self, attempt):
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _parse_json(self, method, path, response, content, ambiguous):
        if not content or not content.strip():
            return None
        try:
            return json.loads(content.decode(response.encoding or "utf-8", errors="replace"))
        except ValueError:
            raise HostupApiError(
                method, path, status=response.status_code,
                reason="the answer is not JSON",
                body_excerpt=_excerpt(content.decode("utf-8", errors="replace")),
                request_id=response.headers.get("X-Request-Id"), ambiguous=ambiguous) from None

    def _http_error(self, method, path, response, content, scope, ambiguous):
        status = response.status_code
        text = content.decode("utf-8", errors="replace") if content else ""
        problem = None
        try:
            problem = json.loads(text) if text.strip() else None
        except ValueError:
            problem = None
        request_id = response.headers.get("X-Request-Id")
        if not isinstance(problem, dict):
            return HostupApiError(method, path, status=status, body_excerpt=_excerpt(text) or response.reason,
                                  request_id=request_id, hint=self._hint(status, None, scope), ambiguous=ambiguous)
        code = problem.get("code") if isinstance(problem.get("code"), str) else None
        errors = problem.get("errors") if isinstance(problem.get("errors"), list) else []
        return HostupApiError(
            method, path, status=status, code=code,
            title=_text_or_none(problem.get("title")),
            detail=_text_or_none(problem.get("detail") or problem.get("message")),
            request_id=_text_or_none(problem.get("requestId")) or request_id,
            errors=[e for e in errors if isinstance(e, dict)],
            hint=self._hint(status, code, scope), ambiguous=ambiguous)

    @staticmethod
    def _hint(status, code, scope):
        if status == 401:
            return "Check api_key (or the HOSTUP_API_KEY environment variable): the key is missing, wrong or revoked"
        if status == 403 and code == "port25_requirements_not_met":
            return ("HostUp accepts port 25 requests only from accounts verified with BankID, or for a VPS "
                    "prepaid annually or longer. Verify the account with BankID or change the VPS billing cycle, "
                    "then run again")
        if status == 403 and scope and code in (None, "forbidden"):
            return "This call needs an API key with the %s scope" % scope
        return None

    def _network_failure(self, method, path, url, exc, ambiguous):
        """Turn a requests exception into a HostupApiError and say whether the request may have been sent."""
        sent = True
        if isinstance(exc, requests_errors.ConnectTimeout):
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
        failure = _NetworkFailure(HostupApiError(method, path, reason=reason, ambiguous=ambiguous), sent)
        return failure


class _NetworkFailure(object):
    def __init__(self, error, reason_sent):
        self.error = error
        self.reason_sent = reason_sent


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
        return _excerpt(text[text.index("Read timed out"):], 160)
    return _excerpt(text.split(": ", 1)[-1] if text.startswith(("HTTPConnectionPool", "HTTPSConnectionPool", "<"))
                    else text, 160)


def _text_or_none(value):
    return value if isinstance(value, str) and value else None
