# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a hostile server, a broken proxy or a careless user can do, and the one clear line each must give.

Every case runs against the simulator (or a small server of its own where the simulator cannot
play the part: a TLS endpoint, ``tls_server`` in conftest.py), through the client the modules use, and reads the simulator's log
to show what was and was not sent.
"""

from __future__ import annotations

import json
import socket
import time
import warnings

import pytest

from ansible_collections.hostup.cloud.plugins.module_utils._client import (
    HostupApiError,
    HostupInputError,
    mask_secret,
    validate_api_url,
)
from ansible_collections.hostup.cloud.plugins.module_utils._connection import connect, proxies_for
from ansible_collections.hostup.cloud.plugins.module_utils._port25 import request_port25_unblock
from ansible_collections.hostup.cloud.plugins.module_utils._tickets import set_ticket_state
from ansible_collections.hostup.cloud.plugins.module_utils._vps import list_vps

DEMO_KEY = "sim-demo-key"
MAIL01 = "vps_01hmail0000000000000000001"
OPEN_TICKET = "tkt_01hticket00000000000000001"
PORT25 = "/api/v2/support/port25-requests"
VPS_LIST = "/api/v2/vps"
REASON = "Transactional mail for example.com"


def params(url, **overrides):
    values = {"api_key": DEMO_KEY, "api_url": url, "api_timeout": 5, "api_retries": 0, "validate_certs": True}
    values.update(overrides)
    return values


def pieces(secret, shortest=8):
    """Every run of ``shortest`` or more characters of ``secret``: none may be visible."""
    return {secret[i:j] for i in range(len(secret)) for j in range(i + shortest, len(secret) + 1)}


# -- secrets ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["# prod key\nhk_live_0123456789abcdef", "hk_live_0123\r456789", "hk_\x1b[2Jlive_0123"])
def test_a_key_with_a_control_character_is_refused_unquoted_before_any_request(sim, key):
    with pytest.raises(HostupInputError) as caught:
        connect(params(sim.url, api_key=key), environ={})
    message = str(caught.value)
    assert "control character" in message
    assert not any(piece in message for piece in pieces(key.strip(), 6)), message
    assert sim.log() == []


def test_an_echoed_key_cut_by_the_excerpt_is_masked_before_the_cut(sim):
    sim.fault(method="POST", path=PORT25, echo_key="html")
    with connect(params(sim.url), environ={}) as api:
        with pytest.raises(HostupApiError) as caught:
            request_port25_unblock(api, REASON, vps_id=MAIL01)
    message = str(caught.value)
    assert "HTTP 502" in message and "********" in message, message
    assert not any(piece in message for piece in pieces(DEMO_KEY)), message


@pytest.mark.parametrize("text", [
    "refused: sim-demo-key", "Authorization: Bearer sim-demo-key.", "…the key sim-demo-k", "…the key sim-demo-"])
def test_mask_secret_covers_the_key_a_bearer_form_and_a_cut_prefix(text):
    masked = mask_secret(text, " sim-demo-key\n")
    assert "sim-demo" not in masked and masked.endswith(("********", "********."))


def test_plain_http_to_loopback_never_goes_through_a_proxy(sim):
    # A proxy that would see the key in clear text; nothing listens there, so using it would fail.
    dead = "http://127.0.0.1:%d" % free_port()
    environ = {"HTTP_PROXY": dead, "http_proxy": dead, "ALL_PROXY": dead, "HTTPS_PROXY": dead}
    assert proxies_for(environ, sim.url) == {}
    with connect(params(sim.url), environ=environ) as api:
        assert [vps["id"] for vps in list_vps(api)]
    assert [entry["path"] for entry in sim.log()] == [VPS_LIST]


def test_https_still_uses_the_proxy_from_the_environment():
    environ = {"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "internal.example"}
    assert proxies_for(environ, "https://cloud.hostup.se") == {"https": "http://proxy.example:3128"}
    assert proxies_for(environ, "https://api.internal.example") == {}


# -- false success ------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_on_the_port25_post_fails_with_status_and_location(sim, status):
    sim.fault(method="POST", path=PORT25, status=status, location="http://192.0.2.80/elsewhere")
    with connect(params(sim.url, api_retries=2), environ={}) as api:
        with pytest.raises(HostupApiError) as caught:
            request_port25_unblock(api, REASON, vps_id=MAIL01)
    message = str(caught.value)
    assert "HTTP %d" % status in message and "http://192.0.2.80/elsewhere" in message, message
    assert [entry["path"] for entry in sim.log()] == [PORT25]
    assert not [r for r in sim.state()["port25_requests"] if r["vpsId"] == MAIL01]


def test_a_redirect_on_a_ticket_action_fails_and_the_ticket_stays(sim):
    sim.fault(method="POST", path="/api/v2/support/tickets/*", status=307, location="/api/v2/elsewhere")
    with connect(params(sim.url), environ={}) as api:
        with pytest.raises(HostupApiError) as caught:
            set_ticket_state(api, OPEN_TICKET, state="closed")
    assert "HTTP 307" in str(caught.value) and "/api/v2/elsewhere" in str(caught.value)
    assert next(t["status"] for t in sim.state()["tickets"] if t["id"] == OPEN_TICKET) == "open"


def test_a_ticket_action_answered_with_the_old_state_is_a_failure(sim):
    ticket = next(t for t in sim.state()["tickets"] if t["id"] == OPEN_TICKET)
    sim.fault(method="POST", path="/api/v2/support/tickets/%s/actions/close" % OPEN_TICKET, status=200,
              body=json.dumps(ticket), content_type="application/json")
    with connect(params(sim.url), environ={}) as api:
        with pytest.raises(HostupApiError) as caught:
            set_ticket_state(api, OPEN_TICKET, state="closed")
    assert "the ticket is open, not closed" in str(caught.value)


# -- hangs and unbounded work -------------------------------------------------------------------------

@pytest.mark.parametrize("trickle", [
    {"part": "body", "chunk_bytes": 1, "interval_ms": 200, "length": 600},
    {"part": "headers", "chunk_bytes": 2, "interval_ms": 200},
])
def test_api_timeout_bounds_an_attempt_end_to_end(sim, trickle):
    sim.fault(method="GET", path=VPS_LIST, trickle=trickle)
    started = time.monotonic()
    with connect(params(sim.url, api_timeout=1), environ={}) as api:
        with pytest.raises(HostupApiError) as caught:
            list_vps(api)
    elapsed = time.monotonic() - started
    assert "within 1s (api_timeout bounds each attempt end to end)" in str(caught.value)
    assert elapsed < 3.0, elapsed


def test_an_answer_larger_than_the_limit_is_refused(sim):
    sim.fault(method="GET", path=VPS_LIST, status=200, content_type="application/json",
              body='{"data": [], "padding": "%s"}' % ("x" * (10 * 1024 * 1024)))
    with connect(params(sim.url), environ={}) as api:
        with pytest.raises(HostupApiError) as caught:
            list_vps(api)
    assert "larger than 10485760 bytes" in str(caught.value)


def test_pagination_that_never_ends_is_cut_off(sim):
    sim.fault(method="GET", path=VPS_LIST, list="endless", persist=True)
    with connect(params(sim.url), environ={}) as api:
        api.max_pages = 25
        with pytest.raises(HostupApiError) as caught:
            list_vps(api)
    assert "did not end after 25 pages" in str(caught.value)
    assert len(sim.log()) == 25


# -- unclear failures ---------------------------------------------------------------------------------

@pytest.mark.parametrize("variant,fragment", [
    ("cursor_object", "nextCursor is a dict, not a string"),
    ("items_not_objects", "not an object"),
    ("items_without_id", "item 1 of page 1 has no id"),
    ("data_not_list", "has no data list"),
])
def test_malformed_list_data_is_one_clear_line(sim, variant, fragment):
    sim.fault(method="GET", path=VPS_LIST, list=variant)
    with connect(params(sim.url), environ={}) as api:
        with pytest.raises(HostupApiError) as caught:
            list_vps(api)
    message = str(caught.value)
    assert message.startswith("GET /api/v2/vps failed") and fragment in message, message


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999", "https://"])
def test_a_broken_api_url_is_one_clear_line(url):
    with pytest.raises(HostupInputError) as caught:
        validate_api_url(url)
    assert "api_url" in str(caught.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8025/#frag", "https://cloud.hostup.se/api",
                                 "https://cloud.hostup.se/?x=1", "https://cloud.hostup.se?", "https://cloud.hostup.se//"])
def test_an_api_url_with_a_path_query_or_fragment_is_refused_before_any_request(sim, url):
    with pytest.raises(HostupInputError) as caught:
        connect(params(url), environ={})
    assert "scheme://host[:port]" in str(caught.value)
    assert sim.log() == []


def test_a_trailing_slash_is_fine():
    assert validate_api_url("https://cloud.hostup.se/") == "https://cloud.hostup.se"


def test_server_text_cannot_fake_ansible_output(sim):
    detail = "\x1b[2J\nok: [host]\r\nPLAY RECAP"
    sim.fault(method="GET", path=VPS_LIST, status=500, detail=detail, title="\x1b[31mfailed")
    with connect(params(sim.url), environ={}) as api:
        with pytest.raises(HostupApiError) as caught:
            list_vps(api)
    message = str(caught.value)
    assert not any(char in message for char in "\x1b\r\n"), repr(message)
    assert "\\x1b[2J\\x0aok: [host]" in message
    assert caught.value.to_result()["api_error"]["detail"] == detail


# -- validate_certs: false ----------------------------------------------------------------------------

def test_unchecked_certificates_give_one_warning_and_no_urllib3_noise(tls_server):
    said = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with connect(params(tls_server, validate_certs=False), environ={}, warn=said.append) as api:
            assert list_vps(api) == []
            assert list_vps(api) == []
    assert len(said) == 1 and "not checked" in said[0], said
    assert [str(w.message) for w in caught if "Unverified HTTPS" in str(w.message)] == []


def free_port():
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port
