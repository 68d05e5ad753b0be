# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a person running Ansible sees, through the real ansible-playbook and ansible-inventory.

* At -v every wait is one line (a 429, a VPS not ready yet), from the controller-side action; a
  module process (action plugins hidden) hands the same lines back as warnings.
* The inventory masks a key echoed in VPS data, in the output and in its cache, as the modules do.
* Nothing the collection raises reaches the user as ``Task failed: '<text>'`` or a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

DEMO_KEY = "sim-demo-key"
PORT25 = "/api/v2/support/port25-requests"
MAIL01 = "vps_01hmail0000000000000000001"
COLLECTION = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 4))
COLLECTIONS_ROOT = os.path.abspath(os.path.join(COLLECTION, *[".."] * 3))


def cli(name):
    found = os.path.join(os.path.dirname(sys.executable), name)
    return found if os.path.exists(found) else shutil.which(name)


def run(command, collections_root=COLLECTIONS_ROOT, **extra_env):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    env.pop("HOSTUP_API_KEY", None)
    env.update(extra_env)
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=180, check=False)
    # Some releases wrap warnings and errors at the terminal width: the checks read the text with every
    # run of blanks and line breaks made one space.
    return completed.returncode, " ".join((completed.stdout + completed.stderr).split())


def playbook(tmp_path, sim, task):
    path = tmp_path / "play.yml"
    path.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}]))
    return str(path)


def without_actions(tmp_path):
    """A copy of the collection without its action plugins: Ansible then runs each module as a process."""
    root = tmp_path / "collections"
    target = root / "ansible_collections" / "hostup" / "cloud"
    shutil.copytree(COLLECTION, target, ignore=shutil.ignore_patterns("tests", "__pycache__", ".git"))
    shutil.rmtree(target / "plugins" / "action")
    return str(root)


RATE_LIMITED_TASK = {"name": "file", "hostup.cloud.hostup_port25_request": {
    "api_key": DEMO_KEY, "vps_id": MAIL01, "reason": "Transactional mail", "api_retries": 3}}


def test_a_rate_limit_wait_is_one_line_at_v_from_the_action(sim, tmp_path):
    sim.fault(method="POST", path=PORT25, status=429, headers={"Retry-After": "1"})
    task = dict(RATE_LIMITED_TASK)
    task["hostup.cloud.hostup_port25_request"] = dict(task["hostup.cloud.hostup_port25_request"], api_url=sim.url)
    status, output = run([cli("ansible-playbook"), "-v", "-i", "localhost,", "-c", "local",
                          playbook(tmp_path, sim, task)])
    assert status == 0, output
    assert output.count("rate limited by HostUp: waiting 1 s (Retry-After), retry 1/3") == 1, output
    assert DEMO_KEY not in output
    quiet_status, quiet = run([cli("ansible-playbook"), "-i", "localhost,", "-c", "local",
                               playbook(tmp_path, sim, task)])
    assert quiet_status == 0 and "rate limited by HostUp" not in quiet, quiet


def test_a_module_process_hands_the_wait_back_as_a_warning_at_v(sim, tmp_path):
    sim.fault(method="POST", path=PORT25, status=429, headers={"Retry-After": "1"})
    task = dict(RATE_LIMITED_TASK)
    task["hostup.cloud.hostup_port25_request"] = dict(task["hostup.cloud.hostup_port25_request"], api_url=sim.url)
    status, output = run([cli("ansible-playbook"), "-v", "-i", "localhost,", "-c", "local",
                          playbook(tmp_path, sim, task)], collections_root=without_actions(tmp_path))
    assert status == 0, output
    assert "rate limited by HostUp: waiting 1 s (Retry-After), retry 1/3" in output, output
    assert DEMO_KEY not in output


@pytest.mark.parametrize("use_cache", [False, True])
def test_the_inventory_masks_a_key_echoed_in_vps_data(sim, tmp_path, use_cache):
    sim.fault(method="GET", path="/api/v2/vps*", echo_key="data", count=2)
    cache_dir = tmp_path / "cache"
    source = tmp_path / "inventory.hostup.yml"
    lines = ["plugin: hostup.cloud.vps", "api_url: %s" % sim.url]
    if use_cache:
        lines += ["cache: true", "cache_plugin: ansible.builtin.jsonfile", "cache_connection: %s" % cache_dir]
    source.write_text("\n".join(lines) + "\n")
    status, output = run([cli("ansible-inventory"), "-i", str(source), "--list"], HOSTUP_API_KEY=DEMO_KEY)
    assert status == 0, output
    assert DEMO_KEY not in output and "********" in output, output
    if use_cache:
        cached = "".join(path.read_text() for path in cache_dir.iterdir())
        assert cached and DEMO_KEY not in cached


def test_a_broken_api_url_in_a_task_is_one_clear_failure_not_an_exception(tmp_path):
    task = {"hostup.cloud.hostup_vps_info": {"api_key": DEMO_KEY, "api_url": "http://[::1"}}
    status, output = run([cli("ansible-playbook"), "-i", "localhost,", "-c", "local", playbook(tmp_path, None, task)])
    assert status != 0
    assert "api_url" in output and "Invalid IPv6 URL" in output, output
    assert "Task failed: '" not in output and "Traceback" not in output and DEMO_KEY not in output


def test_a_vps_not_ready_wait_is_one_line_at_v(sim, tmp_path):
    sim.fault(method="POST", path=PORT25, status=409, code="vps_not_ready", detail="The VPS is being provisioned.")
    task = {"hostup.cloud.hostup_port25_request": {"api_key": DEMO_KEY, "api_url": sim.url, "vps_id": MAIL01,
                                                   "reason": "Transactional mail", "wait_timeout": 30}}
    status, output = run([cli("ansible-playbook"), "-v", "-i", "localhost,", "-c", "local",
                          playbook(tmp_path, sim, task)])
    assert status == 0, output
    assert output.count("VPS %s not ready: retrying in 1 s, 30 s left of wait_timeout" % MAIL01) == 1, output
    assert [entry["status"] for entry in sim.log()] == [409, 201]


@pytest.mark.parametrize("with_actions", [True, False])
def test_a_bug_is_one_line_naming_the_module_and_asking_for_a_report(sim, tmp_path, with_actions):
    root = without_actions(tmp_path)
    collection = os.path.join(root, "ansible_collections", "hostup", "cloud")
    if with_actions:
        shutil.copytree(os.path.join(COLLECTION, "plugins", "action"), os.path.join(collection, "plugins", "action"))
    module = os.path.join(collection, "plugins", "modules", "hostup_vps_info.py")
    with open(module, encoding="utf-8") as handle:
        text = handle.read()
    # A bug planted in a copy: the work function reads a key that is not there.
    planted = text.replace('    return vps_info(client, ', '    params["no_such_option"]\n    return vps_info(client, ')
    assert planted != text
    with open(module, "w", encoding="utf-8") as handle:
        handle.write(planted)
    task = {"hostup.cloud.hostup_vps_info": {"api_key": DEMO_KEY, "api_url": sim.url}}
    status, output = run([cli("ansible-playbook"), "-i", "localhost,", "-c", "local", playbook(tmp_path, sim, task)],
                         collections_root=root)
    assert status != 0
    assert "hostup.cloud.hostup_vps_info failed unexpectedly (KeyError: 'no_such_option')" in output, output
    assert "please report it at https://" in output
    assert "Task failed: '" not in output and "Traceback" not in output and DEMO_KEY not in output, output


def test_a_bug_in_the_inventory_is_one_line_too(sim, tmp_path):
    root = without_actions(tmp_path)
    plugin = os.path.join(root, "ansible_collections", "hostup", "cloud", "plugins", "inventory", "vps.py")
    with open(plugin, encoding="utf-8") as handle:
        text = handle.read()
    planted = text.replace("    def _matching(self, everything):\n",
                           "    def _matching(self, everything):\n        everything[0]['no_such_field']\n")
    assert planted != text
    with open(plugin, "w", encoding="utf-8") as handle:
        handle.write(planted)
    source = tmp_path / "inventory.hostup.yml"
    source.write_text("plugin: hostup.cloud.vps\napi_url: %s\n" % sim.url)
    status, output = run([cli("ansible-inventory"), "-i", str(source), "--list"], collections_root=root,
                         HOSTUP_API_KEY=DEMO_KEY, ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    assert status != 0
    assert "hostup.cloud.vps failed unexpectedly (KeyError: 'no_such_field')" in output, output
    assert "please report it at https://" in output
    assert "Traceback" not in output and DEMO_KEY not in output, output


def test_a_playbook_with_validate_certs_false_prints_no_stray_stderr(tls_server, tmp_path):
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - hostup.cloud.hostup_vps_info: {api_key: %s, api_url: '%s', validate_certs: false}\n"
        % (DEMO_KEY, tls_server))
    status, output = run([cli("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)])
    assert status == 0, output
    assert "errantly sent data directly to stderr" not in output and "InsecureRequestWarning" not in output
    assert output.count("TLS certificate of %s is not checked" % tls_server) == 1, output
    assert DEMO_KEY not in output
