# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module files still work as plain modules (their main()), the way validate-modules and a direct
run see them, against the simulator: the same results and errors as the controller-side actions."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.hostup.cloud.plugins.modules import hostup_port25_request

# The folder that holds ansible_collections/, wherever the tests run from (a checkout or ansible-test's copy).
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(hostup_port25_request.__file__), *[".."] * 5))


def run_module(name, args, tmp_path):
    """Run plugins/modules/<name>.py in its own process, as AnsibleModule reads arguments from a file."""
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([COLLECTIONS_ROOT] + sys.path))
    env.pop("HOSTUP_API_KEY", None)
    completed = subprocess.run(
        [sys.executable, "-m", "ansible_collections.hostup.cloud.plugins.modules.%s" % name, str(args_file)],
        capture_output=True, text=True, env=env, timeout=60, check=False)
    assert "Traceback" not in completed.stderr, completed.stderr
    return json.loads(completed.stdout)


def test_port25_module_files_then_reports_pending(sim, tmp_path):
    args = {"api_key": "sim-demo-key", "api_url": sim.url, "vps_id": "vps_01hmail0000000000000000001",
            "reason": "Transactional mail"}
    first = run_module("hostup_port25_request", args, tmp_path)
    second = run_module("hostup_port25_request", args, tmp_path)
    assert first["changed"] is True and first["port25_request"]["id"].startswith("p25_")
    assert second["changed"] is False and second["port25_request"]["conflict_code"]
    assert list(sim.calls()) == [("POST", "/api/v2/support/port25-requests")] * 2
    assert "sim-demo-key" not in json.dumps(first) + json.dumps(second)


def test_ticket_module_check_mode_sends_only_the_read(sim, tmp_path):
    args = {"api_key": "sim-demo-key", "api_url": sim.url, "id": "149943", "state": "closed",
            "_ansible_check_mode": True}
    result = run_module("hostup_ticket_state", args, tmp_path)
    assert result["changed"] is True and result["ticket"]["status"] == "closed"
    assert sim.calls() == [("GET", "/api/v2/support/tickets/149943")]


@pytest.mark.parametrize("name,args,fragment", [
    ("hostup_port25_request", {"vps_id": "vps_01hweb00000000000000000001", "reason": "mail"}, "BankID"),
    ("hostup_ticket_state", {"id": "999999", "state": "closed"}, "not found or not visible to this API key"),
    ("hostup_vps_info", {"id": "../vps"}, "invalid id"),
])
def test_module_failure_is_one_clear_line(sim, tmp_path, name, args, fragment):
    result = run_module(name, dict(args, api_key="sim-demo-key", api_url=sim.url), tmp_path)
    assert result["failed"] is True
    assert fragment in result["msg"] and "\n" not in result["msg"]
    assert "sim-demo-key" not in json.dumps(result)


def test_an_echo_of_the_key_given_with_blanks_around_it_is_masked(sim, tmp_path):
    # The client sends the key stripped; an API that echoes it echoes that, not the value given.
    sim.fault(method="POST", path="/api/v2/support/port25-requests", status=401, detail="Key sim-demo-key revoked.")
    args = {"api_key": " sim-demo-key\n", "api_url": sim.url, "vps_id": "vps_01hmail0000000000000000001",
            "reason": "Transactional mail"}
    result = run_module("hostup_port25_request", args, tmp_path)
    assert result["failed"] is True and "Key ******** revoked." in result["msg"], result["msg"]
    assert "sim-demo-key" not in json.dumps(result)
