# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):
    # The connection options shared by every hostup.cloud module and the inventory plugin (one source,
    # checked by sanity); the inventory adds only its environment variables.
    DOCUMENTATION = r"""
options:
  api_key:
    description:
      - 'HostUp API key, sent as C(Authorization: Bearer <key>).'
      - Create one at U(https://cloud.hostup.se/api-management) with only the scopes the module needs.
      - If not set, the value of the E(HOSTUP_API_KEY) environment variable is used. An empty E(HOSTUP_API_KEY)
        counts as unset (AWX and AAP inject an empty string for a blank credential field).
      - A key containing a line break or another control character (a key file pasted with its comment line)
        is refused before any request, without quoting it.
      - The key never appears in results, warnings, failure messages or logs.
    type: str
    required: true
    aliases: [api_token]
  api_url:
    description:
      - Base URL of the HostUp API, C(scheme://host[:port]) with at most a trailing C(/). A path, query or
        fragment is refused before any request.
      - If not set, the value of the E(HOSTUP_API_URL) environment variable is used, else V(https://cloud.hostup.se).
        An empty E(HOSTUP_API_URL) counts as unset.
      - Plain C(http://) is refused unless the host is loopback (V(127.0.0.1), V(::1), V(localhost)), so the key
        never crosses a network in clear text; this lets the bundled simulator stand in for HostUp in tests.
        Plain http is always sent directly, never through a proxy from the environment.
    type: str
    default: https://cloud.hostup.se
  api_timeout:
    description:
      - Seconds each HTTP attempt may take, end to end (connect, send, headers and body together), so a
        server that trickles its answer cannot hold the task. Retries get the same time again.
    type: int
    default: 30
  api_retries:
    description:
      - How many times a rate-limited (HTTP 429) or transiently failed request is retried.
      - On 429 the module waits as long as C(Retry-After) says, else until C(X-RateLimit-Reset),
        else with exponential backoff and jitter; each wait is capped at 300 seconds.
      - A task's total time waiting on rate limits (queueing behind other tasks that use the same key
        included) is at most O(api_retries) such waits; the failure message gives the total. At C(-v) each
        wait is shown as one line.
      - Reads are also retried after HTTP 502, 503, 504, timeouts and dropped connections; the actions this
        collection sends are safe to repeat and are retried likewise.
    type: int
    default: 5
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate. Turn off only for a test endpoint; each task then
        warns once that the certificate is not checked.
    type: bool
    default: true
"""
