# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parity matrix: every row's task gives the same result through both ways a hostup.cloud module can run.

* Path A, the action plugin: ``ansible-playbook`` with the collection as it is installed here, so each
  task runs the module's logic inside the controller (plugins/action/).
* Path B, the module process: ``ansible-playbook`` with a copy of the collection that has no
  plugins/action/, so Ansible runs the module file as a module process on localhost.

The rows of one run (``RUNS``: a controller environment) are the tasks of one playbook; every run of
both paths starts at once, each against a simulator of its own reset to the same state, so both paths
see the same state. A notification callback (parity/) queues a row's simulator faults just before
its task and records every task's full result. Each row is a test of its own: it compares the fields
of ``compared_fields`` (after ``normalised``), checks the row's own expectations on both paths, and
that the API key shows in neither.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

import pytest
import yaml

from ansible_collections.hostup.cloud.plugins.module_utils._client import DEFAULT_API_URL
from ansible_collections.hostup.cloud.plugins.modules import hostup_port25_request
from ansible_collections.hostup.cloud.tests.simulator.hostup_sim import DEFAULT_STATE_PATH, Simulator

# The folder that holds ansible_collections/, wherever the tests run from (a checkout or ansible-test's copy).
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(hostup_port25_request.__file__), *[".."] * 5))
COLLECTION = os.path.join(COLLECTIONS_ROOT, "ansible_collections", "hostup", "cloud")
CALLBACK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "parity", "parity_results.py")

# A key of the matrix's own (added to the simulator's state): finding it in any output is a leak.
SECRET = "hk_parity_T4nQ8vR2mX6wZ9bK"
MASK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
# Rows name the key and the simulator by these; the playbook's vars give them their values.
KEY = "{{ hostup_key }}"
URL = "{{ sim_url }}"
# A closed loopback port: the proxy for everything but loopback, so that no row can reach the real API.
DEAD_PROXY = "http://127.0.0.1:9"
SIM = "<simulator>"  # stands for the simulator's URL in controller environments and in normalised results

PATHS = {"A": "action plugin, in the controller", "B": "module process"}

# One playbook per run and path, all at once, each against a simulator of its own. A run is a
# controller environment, except that the rows needing none are split in two (the rows that change
# the simulator's tickets and port 25 requests, and the others) so that no playbook takes long.
RUNS = {
    "reads": {},
    "writes": {},
    "controller_env": {"HOSTUP_API_KEY": SECRET, "HOSTUP_API_URL": SIM},
    "empty_env": {"HOSTUP_API_KEY": "", "HOSTUP_API_URL": ""},
}
WRITING_MODULES = ("ticket_state", "port25_request")

# Result keys left out of the comparison, each for a reason. Every other key counts: a key one path
# returns and the other not (stdout of a crash, invocation, ansible_facts, skipped, deprecations...)
# is a difference a user can see.
IGNORED_KEYS = {
    # The traceback of a failure: the controller's own or the module's, and on 2.19+ a placeholder
    # Ansible puts in every failed result. `msg` carries what the user reads; it is compared.
    "exception",
}
# Plus every `_ansible_*` key: flags Ansible adds for its own callbacks (e.g. `_ansible_no_log` on
# 2.18), not part of what the task returned.
IGNORED_PREFIX = "_ansible_"
DOMAIN_KEYS = ("port25_request", "ticket", "tickets", "vps", "diff", "api_error")

GENERATED_ID = re.compile(r"\b(p25|req)_[0-9a-z]{26}\b")
TIMESTAMP = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\b")

MAIL1, MAIL2, MAIL3 = ("vps_01hmail000000000000000000%d" % n for n in (1, 2, 3))
WEB1 = "vps_01hweb00000000000000000001"
TICKET1, TICKET2 = "tkt_01hticket00000000000000001", "tkt_01hticket00000000000000002"
ECHO_VPS = "vps_01hecho0000000000000000001"
CONNECTION = {"api_key": KEY, "api_url": URL}
REASON = "Transactional mail for example.com"


def row(row_id, module, args, run=None, task=None, faults=(), expect=None):
    """One row: the task (module, args, task keywords), its run (controller environment), faults, expectations.

    Without ``run``, a row of a module that changes the simulator's state runs in `writes`, others in `reads`.

    ``faults`` are queued on the simulator just before the task starts. ``expect`` maps a dotted path
    in the result (``vps.0.id``) to the value both paths must return; a path ending in ``~`` is a
    regular expression searched in that value's text.
    """
    run = run or ("writes" if module in WRITING_MODULES else "reads")
    assert run in RUNS, run
    return {"id": row_id, "module": "hostup.cloud.hostup_%s" % module, "args": args, "run": run,
            "task": task or {}, "faults": list(faults), "expect": expect or {}}


def echo_401(method, path):
    return {"method": method, "path": path, "status": 401, "code": "unauthorized",
            "detail": "The key %s was revoked." % KEY}


ROWS = [
    # -- hostup_vps_info ---------------------------------------------------------------------------
    row("vps_info-defaults", "vps_info", dict(CONNECTION),
        expect={"failed": False, "invocation.module_args.api_timeout": 30, "invocation.module_args.api_retries": 5,
                "invocation.module_args.validate_certs": True, "invocation.module_args.api_key": MASK}),
    row("vps_info-alias-only", "vps_info", {"api_token": KEY, "api_url": URL, "name": "web-01"},
        expect={"vps.0.id": WEB1}),
    row("vps_info-alias-and-canonical", "vps_info", dict(CONNECTION, api_token=KEY, name="web-01"),
        expect={"vps.0.id": WEB1, "warnings~": "Both option api_key and its alias api_token are set"}),
    row("vps_info-module-defaults-key-and-task-alias", "vps_info",
        {"api_token": KEY, "api_url": URL, "name": "mail-01"},
        task={"module_defaults": {"group/hostup.cloud.all": {"api_key": KEY}}},
        expect={"vps.0.id": MAIL1, "warnings~": "Both option api_key and its alias api_token are set"}),
    row("vps_info-module-defaults-only", "vps_info", {"id": MAIL1},
        task={"module_defaults": {"group/hostup.cloud.all": dict(CONNECTION)}}, expect={"vps.0.id": MAIL1}),
    row("vps_info-unknown-option", "vps_info", dict(CONNECTION, bogus=1),
        expect={"failed": True, "msg~": "Unsupported parameters .*bogus"}),
    row("vps_info-int-for-str-in-check-mode", "vps_info", dict(CONNECTION, name=42), task={"check_mode": True},
        expect={"changed": False, "vps": [], "invocation.module_args.name": "42"}),
    row("vps_info-list-for-str", "vps_info", dict(CONNECTION, name=["web-01", "mail-01"])),
    row("vps_info-yes-for-bool-and-text-for-int", "vps_info",
        dict(CONNECTION, id=WEB1, validate_certs="yes", api_retries="2"),
        expect={"invocation.module_args.validate_certs": True, "invocation.module_args.api_retries": 2}),
    row("vps_info-word-for-int", "vps_info", dict(CONNECTION, api_timeout="ten"),
        expect={"failed": True, "msg~": "api_timeout"}),
    row("vps_info-task-environment", "vps_info", {"id": WEB1},
        task={"environment": {"HOSTUP_API_KEY": KEY, "HOSTUP_API_URL": URL}},
        expect={"vps.0.id": WEB1, "invocation.module_args.api_key": MASK}),
    row("vps_info-arguments-beat-task-environment", "vps_info", dict(CONNECTION, id=WEB1),
        task={"environment": {"HOSTUP_API_KEY": "not-a-key", "HOSTUP_API_URL": DEAD_PROXY}},
        expect={"vps.0.id": WEB1}),
    row("vps_info-task-environment-empty-key", "vps_info", {"api_url": URL},
        task={"environment": {"HOSTUP_API_KEY": ""}}, expect={"failed": True, "msg~": "api_key"}),
    row("vps_info-key-echoed-in-error", "vps_info", dict(CONNECTION, id=ECHO_VPS),
        faults=[echo_401("GET", "/api/v2/vps/" + ECHO_VPS)],
        expect={"failed": True, "msg~": r"The key \*{8} was revoked",
                "api_error.detail": "The key ******** was revoked."}),
    row("vps_info-task-no-log", "vps_info", dict(CONNECTION, id=MAIL2), task={"no_log": True}),
    # ansible-core 2.21 leaves `invocation` out of module results unless asked; older releases always add it.
    row("vps_info-release-default-invocation", "vps_info", dict(CONNECTION, id=MAIL1),
        task={"vars": {"ansible_inject_invocation": False}}, expect={"vps.0.id": MAIL1}),

    # -- hostup_ticket_info ------------------------------------------------------------------------
    row("ticket_info-by-number", "ticket_info", dict(CONNECTION, id="149943"), expect={"tickets.0.id": TICKET1}),
    row("ticket_info-bad-choice", "ticket_info", dict(CONNECTION, status="pending"),
        expect={"failed": True, "msg~": "status must be one of"}),
    row("ticket_info-missing-key", "ticket_info", {"api_url": URL}, expect={"failed": True, "msg~": "api_key"}),
    row("ticket_info-null-key", "ticket_info", {"api_key": None, "api_url": URL}, expect={"failed": True}),
    row("ticket_info-key-echoed-in-answer", "ticket_info", dict(CONNECTION, id="149944"),
        faults=[{"method": "GET", "path": "/api/v2/support/tickets/149944", "status": 200,
                 "content_type": "application/json",
                 "body": {"id": TICKET2, "number": "149944", "status": "closed", "subject": "Key %s leaked?" % KEY}}],
        expect={"tickets.0.subject": "Key ******** leaked?"}),
    row("ticket_info-task-environment-url-only", "ticket_info", {"api_key": KEY, "id": "149945"},
        task={"environment": {"HOSTUP_API_URL": URL}}, expect={"tickets.0.number": "149945"}),
    row("ticket_info-release-default-invocation-on-failure", "ticket_info", dict(CONNECTION, state="open"),
        task={"vars": {"ansible_inject_invocation": False}}, expect={"failed": True, "msg~": "Unsupported parameters"}),

    # -- hostup_ticket_state -----------------------------------------------------------------------
    row("ticket_state-default-state-already-open", "ticket_state", dict(CONNECTION, id="149943"),
        expect={"changed": False, "invocation.module_args.state": "open"}),
    row("ticket_state-check-and-diff", "ticket_state", dict(CONNECTION, id="149943", state="closed"),
        task={"check_mode": True, "diff": True},
        expect={"changed": True, "ticket.status": "closed", "diff.after.status": "closed"}),
    row("ticket_state-close-with-diff", "ticket_state", dict(CONNECTION, id=TICKET1, state="closed"),
        task={"diff": True}, expect={"changed": True, "diff.before.status": "open"}),
    row("ticket_state-lost-answer-warning", "ticket_state", dict(CONNECTION, id="149945", state="closed"),
        faults=[{"method": "POST", "path": "/api/v2/support/tickets/149945/actions/close", "drop": True,
                 "apply": True}],
        expect={"changed": True, "warnings~": "probably did it"}),
    row("ticket_state-key-echoed-in-field-error", "ticket_state", dict(CONNECTION, id=TICKET2, state="open"),
        faults=[{"method": "POST", "path": "/api/v2/support/tickets/%s/actions/reopen" % TICKET2, "status": 400,
                 "content_type": "application/problem+json",
                 "body": {"status": 400, "code": "invalid_request", "detail": "The request failed validation.",
                          "errors": [{"pointer": "/authorization", "detail": "Bearer %s is malformed" % KEY,
                                      "code": "invalid"}]}}],
        expect={"failed": True, "api_error.errors.0.detail": "Bearer ******** is malformed"}),
    row("ticket_state-bad-choice", "ticket_state", dict(CONNECTION, id="149943", state="deleted"),
        expect={"failed": True, "msg~": "state must be one of"}),
    row("ticket_state-null-required", "ticket_state", dict(CONNECTION, id=None), expect={"failed": True}),
    row("ticket_state-missing-required", "ticket_state", dict(CONNECTION, state="closed"),
        expect={"failed": True, "msg~": "missing required arguments: id"}),

    # -- hostup_port25_request ---------------------------------------------------------------------
    row("port25-file-with-defaults", "port25_request", dict(CONNECTION, vps_id=MAIL1, reason=REASON),
        expect={"changed": True, "port25_request.status": "pending", "invocation.module_args.wait_timeout": 600}),
    row("port25-already-pending", "port25_request", dict(CONNECTION, vps_id=MAIL1, reason=REASON),
        expect={"changed": False, "port25_request.conflict_code": "port25_request_pending"}),
    row("port25-check-and-diff-by-name", "port25_request", dict(CONNECTION, vps_name="mail-02", reason=REASON),
        task={"check_mode": True, "diff": True}, expect={"changed": True, "diff.after.vps_id": MAIL2}),
    row("port25-exclusive-id-name", "port25_request", dict(CONNECTION, vps_id=MAIL1, vps_name="mail-01", reason=REASON),
        expect={"failed": True, "msg~": "mutually exclusive"}),
    row("port25-exclusive-id-ip", "port25_request",
        dict(CONNECTION, vps_id=MAIL1, ip_address="192.0.2.11", reason=REASON),
        expect={"failed": True, "msg~": "mutually exclusive"}),
    row("port25-exclusive-name-ip", "port25_request",
        dict(CONNECTION, vps_name="mail-01", ip_address="192.0.2.11", reason=REASON),
        expect={"failed": True, "msg~": "mutually exclusive"}),
    row("port25-exclusive-all-three", "port25_request",
        dict(CONNECTION, vps_id=MAIL1, vps_name="mail-01", ip_address="192.0.2.11", reason=REASON),
        expect={"failed": True, "msg~": "mutually exclusive"}),
    row("port25-exclusive-with-a-null", "port25_request", dict(CONNECTION, vps_id=MAIL1, vps_name=None, reason=REASON)),
    row("port25-required-one-of", "port25_request", dict(CONNECTION, reason=REASON),
        expect={"failed": True, "msg~": "one of the following is required"}),
    row("port25-missing-reason", "port25_request", dict(CONNECTION, vps_id=MAIL1),
        expect={"failed": True, "msg~": "missing required arguments: reason"}),
    row("port25-key-echoed-in-error", "port25_request", dict(CONNECTION, vps_id=MAIL2, reason=REASON),
        faults=[echo_401("POST", "/api/v2/support/port25-requests")],
        expect={"failed": True, "msg~": r"The key \*{8} was revoked"}),
    # An empty HOSTUP_API_URL counts as unset, so the default URL applies. The blank reason is refused
    # before any request, so the row shows the URL chosen without ever contacting it (DEAD_PROXY besides).
    row("port25-task-environment-empty-url", "port25_request", {"api_key": KEY, "vps_id": MAIL1, "reason": " "},
        task={"environment": {"HOSTUP_API_URL": ""}},
        expect={"failed": True, "msg~": "reason must be a non-empty",
                "invocation.module_args.api_url": DEFAULT_API_URL}),

    # -- hostup_port25_info (one mutually_exclusive group of four: three violations name all four) ---
    row("port25_info-account-in-check-mode", "port25_info", dict(CONNECTION), task={"check_mode": True},
        expect={"changed": False, "invocation.module_args.wait_for_decision": False}),
    row("port25_info-text-for-list", "port25_info", dict(CONNECTION, ip_addresses="192.0.2.11,192.0.2.12"),
        expect={"invocation.module_args.ip_addresses": ["192.0.2.11", "192.0.2.12"]}),
    row("port25_info-exclusive-id-name", "port25_info", dict(CONNECTION, vps_id=MAIL1, vps_name="mail-01"),
        expect={"failed": True, "msg~": "mutually exclusive"}),
    row("port25_info-exclusive-ip-ips", "port25_info",
        dict(CONNECTION, ip_address="192.0.2.11", ip_addresses=["192.0.2.12"]),
        expect={"failed": True, "msg~": "mutually exclusive"}),
    row("port25_info-exclusive-all-four", "port25_info",
        dict(CONNECTION, vps_id=MAIL1, vps_name="mail-01", ip_address="192.0.2.11", ip_addresses=["192.0.2.12"]),
        expect={"failed": True, "msg~": "mutually exclusive"}),

    # -- key and URL from the controller's environment ---------------------------------------------
    row("controller-env-vps_info", "vps_info", {"name": "mail-01"}, run="controller_env",
        expect={"vps.0.id": MAIL1, "invocation.module_args.api_key": MASK}),
    row("controller-env-ticket_state-check-mode", "ticket_state", {"id": "149945", "state": "closed"},
        run="controller_env", task={"check_mode": True}, expect={"changed": True}),
    row("controller-env-beaten-by-task-environment", "ticket_info", {"id": "149943"}, run="controller_env",
        task={"environment": {"HOSTUP_API_KEY": "not-a-key"}}, expect={"failed": True, "msg~": "401"}),
    row("controller-env-beaten-by-argument", "vps_info", {"api_key": "not-a-key"}, run="controller_env",
        expect={"failed": True, "msg~": "401"}),
    row("controller-env-port25-key-echoed", "port25_request", {"vps_id": MAIL3, "reason": REASON},
        run="controller_env", faults=[echo_401("POST", "/api/v2/support/port25-requests")],
        expect={"failed": True, "msg~": r"The key \*{8} was revoked"}),

    # -- empty HOSTUP_API_KEY and HOSTUP_API_URL in the controller's environment: both count as unset --
    row("empty-env-port25-default-url", "port25_request", {"api_key": KEY, "vps_id": MAIL1, "reason": " "},
        run="empty_env",
        expect={"failed": True, "msg~": "reason must be a non-empty",
                "invocation.module_args.api_url": DEFAULT_API_URL}),
    row("empty-env-ticket_info-no-key", "ticket_info", {"api_url": URL, "id": "149943"}, run="empty_env",
        expect={"failed": True, "msg~": "api_key"}),
]


# ---------------------------------------------------------------------------------------- running

def ansible_playbook():
    """ansible-playbook of the Python running the tests, else the first on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    found = beside if os.path.isfile(beside) else shutil.which("ansible-playbook")
    if not found:
        raise RuntimeError("ansible-playbook is neither next to %s nor on PATH" % sys.executable)
    return found


def module_process_tree(dest):
    """A copy of the collection without plugins/action/: Ansible then runs each module as a module process.

    meta/ (runtime.yml: the action group) and plugins/ are all Ansible reads to run a module.
    """
    tree = os.path.join(dest, "ansible_collections", "hostup", "cloud")
    os.makedirs(tree)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    plugins = os.path.join(COLLECTION, "plugins")
    shutil.copytree(os.path.join(COLLECTION, "meta"), os.path.join(tree, "meta"), ignore=skip)
    shutil.copytree(plugins, os.path.join(tree, "plugins"), ignore=lambda folder, names: set(skip(folder, names)) | (
        {"action"} if os.path.samefile(folder, plugins) else set()))
    for name in ("galaxy.yml", "MANIFEST.json"):
        if os.path.isfile(os.path.join(COLLECTION, name)):
            shutil.copy(os.path.join(COLLECTION, name), tree)
    assert not os.path.exists(os.path.join(tree, "plugins", "action"))
    return dest


def playbook(rows, sim_url):
    tasks = []
    for each in rows:
        task = {"name": each["id"], each["module"]: each["args"]}
        task.update(each["task"])
        task["ignore_errors"] = True
        tasks.append(task)
    # ansible_inject_invocation (ansible-core 2.21, off by default there) makes module processes return
    # `invocation` as they always did before 2.21, so that module_args can be compared; rows that
    # compare a release's defaults turn it off again.
    return [{"name": "Parity rows", "hosts": "localhost", "gather_facts": False,
             "vars": {"hostup_key": SECRET, "sim_url": sim_url, "ansible_inject_invocation": True}, "tasks": tasks}]


def admin(url, method, path, body=None):
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read().decode("utf-8"))


def controller_environment(run_env, collections_path, work, sim_url):
    """The test runner's environment without Ansible, HostUp or proxy settings, plus the run's own."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("ANSIBLE_", "HOSTUP_", "PYTEST_")) and name.lower() not in (
               "http_proxy", "https_proxy", "all_proxy", "no_proxy", "pythonpath", "requests_ca_bundle",
               "curl_ca_bundle")}
    config = os.path.join(work, "ansible.cfg")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write("[defaults]\n")
    env.update({
        "ANSIBLE_CONFIG": config,
        "ANSIBLE_COLLECTIONS_PATH": collections_path,
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(work, "callbacks"),
        "ANSIBLE_CALLBACKS_ENABLED": "parity_results",
        "ANSIBLE_LOCAL_TEMP": os.path.join(work, "ansible-tmp"),
        "ANSIBLE_PIPELINING": "true",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "HOSTUP_PARITY_FILE": os.path.join(work, "parity.json"),
        "HTTPS_PROXY": DEAD_PROXY, "HTTP_PROXY": DEAD_PROXY, "NO_PROXY": "127.0.0.1,localhost",
    })
    env.update((name, value.replace(SIM, sim_url)) for name, value in run_env.items())
    return env


def run_one(path, run_name, collections_path, base, state, outcome):
    """One run of one path: its rows as one playbook, against a simulator of its own, reset first."""
    rows = [each for each in ROWS if each["run"] == run_name]
    work = os.path.join(base, "%s-%s" % (path, run_name))
    os.makedirs(os.path.join(work, "callbacks"))
    shutil.copy(CALLBACK, os.path.join(work, "callbacks"))
    sim = Simulator(host="127.0.0.1", port=0)
    sim.start()
    try:
        with open(os.path.join(work, "playbook.yml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump(playbook(rows, sim.url), handle, sort_keys=False)
        with open(os.path.join(work, "inventory.yml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump({"all": {"hosts": {"localhost": {
                "ansible_connection": "local",
                "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}, handle)
        results_file = os.path.join(work, "results.json")
        with open(os.path.join(work, "parity.json"), "w", encoding="utf-8") as handle:
            # Faults name the key as the rows' arguments do; only this file (and the playbook) holds it.
            faults = {each["id"]: each["faults"] for each in rows if each["faults"]}
            json.dump({"sim_url": sim.url, "results": results_file,
                       "faults": json.loads(json.dumps(faults).replace(KEY, SECRET))}, handle)
        admin(sim.url, "POST", "/_sim/reset", {"state": state})
        begun = time.monotonic()
        completed = subprocess.run(
            [sys.executable, ansible_playbook(), "-vvv", "-i", "inventory.yml", "playbook.yml"],
            cwd=work, env=controller_environment(RUNS[run_name], collections_path, work, sim.url),
            capture_output=True, text=True, timeout=600, check=False)
        results = {}
        if os.path.exists(results_file):
            with open(results_file, encoding="utf-8") as handle:
                results = json.load(handle)
        outcome.update(rc=completed.returncode, stdout=completed.stdout, stderr=completed.stderr, results=results,
                       sim_url=sim.url, seconds=time.monotonic() - begun,
                       faults_left=admin(sim.url, "GET", "/_sim/faults")["faults"])
    except Exception as exc:  # pylint: disable=broad-except  # raised again by run_matrix, in the test's thread
        outcome["error"] = "%s: %s" % (type(exc).__name__, exc)
    finally:
        sim.stop()


def run_matrix(base):
    """Every run of both paths at once; returns {path: {run: outcome}}."""
    with open(DEFAULT_STATE_PATH, encoding="utf-8") as handle:
        state = json.load(handle)
    state["keys"].append({"key": SECRET, "name": "parity", "scopes": ["read:vm", "read:support", "write:support"]})
    collections = {"A": COLLECTIONS_ROOT, "B": module_process_tree(os.path.join(base, "module-process"))}
    outcomes = {path: {run_name: {} for run_name in RUNS} for path in PATHS}
    threads = [threading.Thread(target=run_one, args=(path, run_name, collections[path], base, state,
                                                      outcomes[path][run_name]))
               for path in PATHS for run_name in RUNS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for path in PATHS:
        for run_name, outcome in outcomes[path].items():
            if "error" in outcome:
                raise RuntimeError("path %s, run %s: %s" % (path, run_name, outcome["error"]))
    return outcomes


# Who shares one matrix: the pytest-xdist workers of one test run, else the process that collected
# this file. ansible-test runs each test in a fork of its own, where a module-scoped fixture would be
# set up again for every row; the forks (and the workers) share the matrix through a file instead.
SHARED_BY = os.environ.get("PYTEST_XDIST_TESTRUNUID") or "%d-%s" % (os.getpid(), uuid.uuid4().hex)


def shared_matrix():
    """The matrix of this test run: run by the first test that needs it, read from disk by the others."""
    root = os.path.join(tempfile.gettempdir(), "hostup-parity-%d" % os.getuid())
    os.makedirs(root, mode=0o700, exist_ok=True)
    for name in os.listdir(root):  # leftovers of earlier test runs
        old = os.path.join(root, name)
        if time.time() - os.path.getmtime(old) > 3 * 3600:
            shutil.rmtree(old, ignore_errors=True)
    folder = os.path.join(root, SHARED_BY)
    os.makedirs(folder, exist_ok=True)
    done = os.path.join(folder, "matrix.json")
    with open(os.path.join(folder, "lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(done):
            work = tempfile.mkdtemp(dir=folder)
            matrix = {"started": time.time() - 60}
            try:
                matrix["outcomes"] = run_matrix(work)
            except Exception as exc:  # pylint: disable=broad-except  # every row reports it, nobody runs it again
                matrix["error"] = "%s: %s" % (type(exc).__name__, exc)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            with open(done + ".new", "w", encoding="utf-8") as handle:
                json.dump(matrix, handle)
            os.rename(done + ".new", done)
    with open(done, encoding="utf-8") as handle:
        matrix = json.load(handle)
    if "error" in matrix:
        pytest.fail("the parity matrix could not run: %s" % matrix["error"])
    return matrix


class Parity(object):
    def __init__(self, matrix):
        self.outcomes = matrix["outcomes"]
        self.started = datetime.datetime.fromtimestamp(matrix["started"], tz=datetime.timezone.utc)

    def entry(self, path, each):
        """The row's task result on ``path`` as the callback saw it (outcome and result), or None."""
        return self.outcomes[path][each["run"]]["results"].get(each["id"])

    def tail(self, path, run_name, lines=15):
        run = self.outcomes[path][run_name]
        return redacted("\n".join((run["stdout"] + run["stderr"]).splitlines()[-lines:]))


@pytest.fixture(scope="module")
def parity():
    return Parity(shared_matrix())


# ---------------------------------------------------------------------------------------- comparing

def normalised(result, sim_url, started):
    """The result with the simulator's URL, generated ids and timestamps of this session replaced."""
    def timestamp(match):
        moment = datetime.datetime.strptime(match.group(0)[:19], "%Y-%m-%dT%H:%M:%S")
        return "<now>" if moment.replace(tzinfo=datetime.timezone.utc) >= started else match.group(0)

    text = json.dumps(result).replace(sim_url, SIM)
    text = GENERATED_ID.sub(r"\1_<generated>", text)
    return json.loads(TIMESTAMP.sub(timestamp, text))


def failed(entry):
    """Whether the task failed: some releases leave `failed` out of the result the callbacks get."""
    return entry["outcome"] == "failed" or bool(entry["result"].get("failed"))


def compared_fields(entry):
    result = entry["result"]
    fields = {
        "outcome": entry["outcome"],
        "failed": failed(entry),
        "changed": result.get("changed"),
        "msg": result.get("msg"),
        "warnings": [str(warning) for warning in result.get("warnings") or []],
        "keys": sorted(key for key in result if key not in IGNORED_KEYS and not key.startswith(IGNORED_PREFIX)),
        "invocation.module_args": (result.get("invocation") or {}).get("module_args"),
    }
    fields.update((key, result.get(key)) for key in DOMAIN_KEYS)
    return fields


def lookup(result, dotted):
    value = result
    for part in dotted.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return "<missing>"
    return value


def unmet(entry, expect):
    """Each expectation of the row this task result does not meet, as (field, expected, got)."""
    missed = []
    fields = dict(entry["result"], failed=failed(entry))
    for field, wanted in expect.items():
        if field.endswith("~"):
            got = lookup(fields, field[:-1])
            text = got if isinstance(got, str) else json.dumps(got)
            if not re.search(wanted, text):
                missed.append((field, "matching /%s/" % wanted, got))
        else:
            got = lookup(fields, field)
            if got != wanted:
                missed.append((field, wanted, got))
    return missed


def show(value):
    return json.dumps(value, sort_keys=True)


def leaks(text):
    """Whether ``text`` holds the key or a large part of it."""
    return any(part in text for part in (SECRET, SECRET[3:], SECRET[:-4]))


def redacted(text):
    """``text`` fit for a failure message: the key, should it be there, replaced."""
    for part in (SECRET, SECRET[3:], SECRET[:-4]):
        text = text.replace(part, "<THE API KEY>")
    return text


def leaking_lines(path, text):
    """The numbers of the lines of ansible-playbook's output that show the key.

    On path B only, Ansible's own `<localhost> EXEC` line at -vvv is left out: for a module process it
    prints the task's `environment:` (HOSTUP_API_KEY included) in the command it runs. The collection
    cannot change that; the action plugin (path A) never builds such a command, and is held to all lines.
    """
    return [number for number, line in enumerate(text.splitlines(), 1)
            if leaks(line) and not (path == "B" and line.startswith("<localhost> EXEC "))]


def shown_live_on_a(result_a, result_b, stdout_a):
    """Path B's result without the warnings that path A showed live instead.

    At -v the action shows each wait (a retry after a lost answer, a 429) as a line through Ansible's
    display while it waits; a module process can only hand the same lines back at the end, as warnings.
    A warning of B's that A did not return but printed word for word is that same line, delivered the
    only way a module process can.
    """
    warnings_a = result_a.get("warnings") or []
    warnings_b = result_b.get("warnings")
    if not warnings_b:
        return result_b
    kept = [w for w in warnings_b if w in warnings_a or not (isinstance(w, str) and w in stdout_a)]
    result_b = dict(result_b)
    if kept:
        result_b["warnings"] = kept
    else:
        result_b.pop("warnings")
    return result_b


@pytest.mark.parametrize("each", ROWS, ids=[each["id"] for each in ROWS])
def test_both_paths_agree(parity, each):
    entries = {path: parity.entry(path, each) for path in PATHS}
    for path, entry in entries.items():
        assert entry is not None, "row %s: no result on path %s (%s); the run ended with:\n%s" % (
            each["id"], path, PATHS[path], parity.tail(path, each["run"]))
    results = {path: normalised(entries[path]["result"], parity.outcomes[path][each["run"]]["sim_url"],
                                parity.started) for path in PATHS}
    run_a = parity.outcomes["A"][each["run"]]
    results["B"] = shown_live_on_a(results["A"], results["B"], run_a["stdout"].replace(run_a["sim_url"], SIM))
    fields = {path: compared_fields(dict(entries[path], result=results[path])) for path in PATHS}
    lines = []
    for field in fields["A"]:
        if fields["A"][field] != fields["B"][field]:
            lines.append("  %-24s A: %s\n  %-24s B: %s" % (
                field, show(fields["A"][field]), "", show(fields["B"][field])))
    for path in PATHS:
        for field, wanted, got in unmet(dict(entries[path], result=results[path]), each["expect"]):
            lines.append("  expected on %s: %s = %s, got %s" % (path, field, show(wanted), show(got)))
        if leaks(json.dumps(entries[path]["result"])):
            lines.append("  the API key appears in the result on path %s" % path)
    assert not lines, redacted("row %s (%s, run %s): the paths differ\n  A = %s, B = %s\n%s" % (
        each["id"], each["module"], each["run"], PATHS["A"], PATHS["B"], "\n".join(lines)))


@pytest.mark.parametrize("path", sorted(PATHS))
def test_the_key_never_shows_in_the_output(parity, path):
    shown = {}
    for run_name, run in parity.outcomes[path].items():
        for stream in ("stdout", "stderr"):
            lines = leaking_lines(path, run[stream])
            if lines:
                shown["%s %s" % (run_name, stream)] = lines
    # Line numbers only: the lines themselves would print the key.
    assert not shown, "the API key shows in ansible-playbook's output on path %s, at lines %s" % (path, shown)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_row_ran_and_every_fault_was_served(parity, path):
    for run_name, run in parity.outcomes[path].items():
        rows = [each["id"] for each in ROWS if each["run"] == run_name]
        assert sorted(run["results"]) == sorted(rows), parity.tail(path, run_name)
        # Every row's task ignores its errors: any other failure of the play is the matrix's own.
        assert run["rc"] == 0, parity.tail(path, run_name)
        left = ["%s %s" % (fault["method"], fault["path"]) for fault in run["faults_left"]]
        assert left == [], "faults never reached their row (path %s, run %s): %s" % (path, run_name, left)


def test_row_ids_are_unique():
    ids = [each["id"] for each in ROWS]
    assert len(ids) == len(set(ids))
