# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):
    # The connection options shared by every hostup.cloud module (one source, checked by sanity).
    DOCUMENTATION = r"""
options:
  api_key:
    description:
      - 'HostUp API key, sent as C(Authorization: Bearer <key>).'
      - Create one at U(https://cloud.hostup.se/api-management) with only the scopes the module needs.
      - If not set, the value of the E(HOSTUP_API_KEY) environment variable is used.
      - The key never appears in results, warnings, failure messages or logs.
    type: str
    required: true
    aliases: [api_token]
  api_url:
    description:
      - Base URL of the HostUp API.
      - If not set, the value of the E(HOSTUP_API_URL) environment variable is used, else V(https://cloud.hostup.se).
      - Plain C(http://) is refused unless the host is loopback (V(127.0.0.1), V(::1), V(localhost)), so the key
        never crosses a network in clear text; this lets the bundled simulator stand in for HostUp in tests.
    type: str
    default: https://cloud.hostup.se
  api_timeout:
    description:
      - Seconds to wait for each HTTP request.
    type: int
    default: 30
  api_retries:
    description:
      - How many times a rate-limited (HTTP 429) or transiently failed request is retried.
      - On 429 the module waits as long as C(Retry-After) says, else until C(X-RateLimit-Reset),
        else with exponential backoff and jitter.
      - Reads are also retried after HTTP 502, 503, 504, timeouts and dropped connections; the actions this
        collection sends are safe to repeat and are retried likewise.
    type: int
    default: 5
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate. Turn off only for a test endpoint.
    type: bool
    default: true
requirements:
  - requests (on the controller)
notes:
  - The API calls run on the controller, inside the Ansible worker, whatever host the task targets;
    the task's C(environment) keyword still supplies E(HOSTUP_API_KEY), E(HOSTUP_API_URL) and proxy variables
    (E(HTTPS_PROXY), E(HTTP_PROXY), E(NO_PROXY)) for that task only.
"""
