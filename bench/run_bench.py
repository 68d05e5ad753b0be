"""Benchmark of the hostup.cloud collection against the hand-written ansible.builtin.uri play.

Starts the bundled HostUp API simulator on 127.0.0.1 (with added latency per request and, for some
scenarios, a fixed-window rate limit), runs real ansible-playbook processes from the project's tools
venv against it, and reports wall time, CPU time, the API requests the simulator logged, 429
answers, failed hosts, the ratio collection / baseline and the ratio to the rate limit's lower bound.
It then checks the benchmark's targets and prints one PASS or MISS line for each: it measures, it
never fails because a target is missed.

    python bench/run_bench.py                       # the full benchmark (about 10 minutes)
    python bench/run_bench.py --hosts 3 --forks 2 --repeat 1 --latency-ms 0 \
        --scenarios role,baseline --out /tmp/x      # a smoke run, well under 30 s
    python bench/run_bench.py --publish             # also write the table into docs/benchmark.md

Standard library only; ansible-playbook and the interpreter the plays use come from the tools venv
(`.ci/venv.sh tools`). Nothing but the loopback simulator is contacted. See bench/README.md.
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "bench")
SIMULATOR = os.path.join(REPO, "tests", "simulator", "hostup_sim.py")
SIM_STATE = os.path.join(REPO, "tests", "simulator", "default_state.json")
DOC = os.path.join(REPO, "docs", "benchmark.md")

API_KEY = "sim-demo-key"
REASON = "Transactional mail for example.com, DKIM signed, with bounce handling."
VPS_PREFIX = "bench"

ALL_SCENARIOS = ("role", "baseline", "task", "role-limited", "baseline-limited", "task-limited", "role-bucket",
                 "retry-bucket", "task-bucket", "identify", "overhead")
SCENARIO_ALIASES = {
    "all": ALL_SCENARIOS,
    "limited": ("role-limited", "baseline-limited", "task-limited"),
    "ratelimit": ("role-limited", "baseline-limited", "task-limited"),
    "bucket": ("role-bucket", "retry-bucket", "task-bucket"),
}

RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
                        r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)")

# Variables that would make the plays talk to something other than the simulator, or configure
# Ansible differently from one machine to the next.
DROPPED_ENV_PREFIXES = ("ANSIBLE_", "HOSTUP_")
DROPPED_ENV_NAMES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "requests_ca_bundle", "curl_ca_bundle"}


# ----------------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------------

def parse_rate_limit(text):
    """'20/10' -> (20, 10.0): 20 requests per 10-second window."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*", text or "")
    if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
        raise argparse.ArgumentTypeError("expected REQUESTS/SECONDS, for example 20/10")
    return int(match.group(1)), float(match.group(2))


def parse_bucket(text):
    """'20+1/s' -> (20, 1.0): a token bucket of 20 requests at once, refilled at 1 request per second."""
    match = re.fullmatch(r"\s*(\d+)\s*\+\s*(\d+(?:\.\d+)?)\s*/\s*s\s*", text or "")
    if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
        raise argparse.ArgumentTypeError("expected BURST+RATE/s, for example 20+1/s")
    return int(match.group(1)), float(match.group(2))


def parse_scenarios(text):
    chosen = []
    for name in (item.strip() for item in text.split(",")):
        if not name:
            continue
        names = SCENARIO_ALIASES.get(name, (name,))
        for item in names:
            if item not in ALL_SCENARIOS:
                raise argparse.ArgumentTypeError("unknown scenario %r (choose from %s, or all)"
                                                 % (item, ", ".join(ALL_SCENARIOS)))
            if item not in chosen:
                chosen.append(item)
    if not chosen:
        raise argparse.ArgumentTypeError("no scenario selected")
    return [item for item in ALL_SCENARIOS if item in chosen]


def rate_limit_bound(needed, limit):
    """Seconds from the first request until the last of ``needed`` requests can be admitted.

    The simulator (like HostUp) counts requests per key in fixed windows: a window opens with the
    first request after the previous one has expired and admits ``requests`` of them. The first
    ``requests`` go through at once; each further batch needs one more window. So the last request
    is admitted at the earliest floor((needed - 1) / requests) windows after the first one.
    """
    requests_per_window, window_seconds = limit
    if needed <= 0:
        return 0.0
    return ((needed - 1) // requests_per_window) * window_seconds


def bucket_bound(needed, bucket):
    """Seconds from the first request until the last of ``needed`` can be admitted by a token bucket.

    The bucket starts full with ``burst`` tokens and gains ``rate`` per second; each request takes
    one. The first ``burst`` go at once; every further one waits for a new token.
    """
    burst, rate = bucket
    return max(0, needed - burst) / rate


def median(values):
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


def ratio(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def parse_log_time(text):
    """The simulator's ISO 8601 UTC timestamp (milliseconds) as epoch seconds."""
    moment = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.replace(tzinfo=datetime.timezone.utc).timestamp()


def git_describe():
    """HEAD's commit and whether the collection's code differs from it (others edit this tree too)."""
    def git(*args):
        try:
            return subprocess.run(["git", "-C", REPO] + list(args), capture_output=True, text=True,
                                  timeout=20, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    commit = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--", "plugins", "roles", "meta", "bench/role_play.yml",
                "bench/baseline_uri.yml")
    return {"commit": commit or None, "code_differs_from_commit": bool(dirty)}


def tools_venv():
    """The project's tools venv (built by .ci/venv.sh, which prints its path)."""
    result = subprocess.run(["bash", os.path.join(REPO, ".ci", "venv.sh"), "tools"], capture_output=True,
                            text=True, timeout=1800, check=False)
    path = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    if result.returncode != 0 or not os.path.isdir(path):
        sys.exit("run_bench: .ci/venv.sh tools failed:\n%s" % result.stderr)
    return path


def fmt(value, digits=2, suffix=""):
    if value is None:
        return "–"
    if isinstance(value, float):
        return ("%." + str(digits) + "f%s") % (value, suffix)
    return "%s%s" % (value, suffix)


def fmt_ratio(value):
    return "–" if value is None else "%.2f×" % value


# ----------------------------------------------------------------------------------------------------
# The simulator, as a separate process on the loopback interface
# ----------------------------------------------------------------------------------------------------

class SimulatorProcess(object):
    """hostup_sim.py in its own process (so that serving never competes with this script's GIL)."""

    def __init__(self, python, workdir, latency_ms):
        self.python = python
        self.workdir = workdir
        self.latency_ms = latency_ms
        self.process = None
        self.url = None
        # No proxy handler: the admin calls go straight to 127.0.0.1 whatever the environment says.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def start(self):
        port_file = os.path.join(self.workdir, "sim.port")
        self.log_path = os.path.join(self.workdir, "sim.out")
        with open(self.log_path, "wb") as output:
            self.process = subprocess.Popen(
                [self.python, SIMULATOR, "--host", "127.0.0.1", "--port", "0", "--state", SIM_STATE,
                 "--port-file", port_file, "--latency-ms", str(self.latency_ms)],
                stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        if not (os.path.exists(port_file) and open(port_file).read().strip()):
            self.stop()
            sys.exit("run_bench: the simulator did not start:\n%s" % open(self.log_path).read())
        self.url = "http://127.0.0.1:%d" % int(open(port_file).read().strip())
        return self.url

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def admin(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with self.opener.open(request, timeout=30) as response:
            return json.loads(response.read().decode() or "null")

    def fresh_state(self, hosts, limit):
        """Restore the bundled state, add ``hosts`` running VPSes billed annually, set the rate limit."""
        self.admin("POST", "/_sim/reset")
        created = self.admin("POST", "/_sim/vps/bulk",
                             {"count": hosts, "prefix": VPS_PREFIX, "billingCycle": "annually"})
        self.set_rate_limit(limit)
        return created

    def set_rate_limit(self, limit):
        """Set (or clear) the limit, given as the simulator's setting; windows and buckets start afresh."""
        self.admin("PUT", "/_sim/rate_limit", limit)

    def port25_request_count(self):
        return len(self.admin("GET", "/_sim/state").get("port25_requests") or [])

    def take_log(self, keep_as=None):
        """The requests logged since the last call (also written to ``keep_as``), and clear the log."""
        log = self.admin("GET", "/_sim/log")
        self.admin("DELETE", "/_sim/log")
        entries = log.get("requests") or []
        if keep_as:
            with open(keep_as, "w") as handle:
                json.dump(entries, handle, indent=1)
        return entries


def summarize_log(entries, started_epoch=None):
    """Requests by method, by status, 429 answers, requests the API took, and their timing.

    ``api_span_s`` runs from the first request to the last; ``first_request_s`` from the start of
    ansible-playbook to the first request (Ansible's start-up, before any API call).
    """
    by_method = {}
    by_status = {}
    for entry in entries:
        by_method[entry["method"]] = by_method.get(entry["method"], 0) + 1
        key = str(entry["status"])
        by_status[key] = by_status.get(key, 0) + 1
    answered = [entry for entry in entries if entry["status"] != 429]
    times = [parse_log_time(entry["time"]) for entry in entries if entry.get("time")]
    return {
        "requests": len(entries),
        "by_method": by_method,
        "by_status": by_status,
        "rate_limited": by_status.get("429", 0),
        "answered": len(answered),
        "answered_by_method": {method: sum(1 for entry in answered if entry["method"] == method)
                               for method in sorted({entry["method"] for entry in answered})},
        "created": sum(1 for entry in entries if entry["method"] == "POST" and entry["status"] == 201),
        "api_span_s": (max(times) - min(times)) if times else None,
        "first_request_s": (min(times) - started_epoch) if times and started_epoch else None,
    }


# ----------------------------------------------------------------------------------------------------
# Ansible: the collection tree, inventories, running a play
# ----------------------------------------------------------------------------------------------------

class Ansible(object):
    """Runs ansible-playbook from the tools venv with this checkout as hostup.cloud."""

    def __init__(self, venv, workdir, sim_url, hide_action_plugins, timeout):
        self.venv = venv
        self.python = os.path.join(venv, "bin", "python")
        self.playbook_cmd = os.path.join(venv, "bin", "ansible-playbook")
        self.workdir = workdir
        self.sim_url = sim_url
        self.timeout = timeout
        self.collections = os.path.join(workdir, "collections")
        self._link_collection(hide_action_plugins)
        self.env = self._environment()
        self.runs = 0

    def _link_collection(self, hide_action_plugins):
        """ansible_collections/hostup/cloud -> this checkout (optionally without plugins/action)."""
        target = os.path.join(self.collections, "ansible_collections", "hostup", "cloud")
        os.makedirs(os.path.dirname(target))
        if not hide_action_plugins:
            os.symlink(REPO, target)
            return
        # The same tree, but Ansible finds no action plugin: every API task runs as a module process.
        os.makedirs(os.path.join(target, "plugins"))
        for name in os.listdir(REPO):
            if name not in (".git", "plugins"):
                os.symlink(os.path.join(REPO, name), os.path.join(target, name))
        for name in os.listdir(os.path.join(REPO, "plugins")):
            if name != "action":
                os.symlink(os.path.join(REPO, "plugins", name), os.path.join(target, "plugins", name))

    def _environment(self):
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(DROPPED_ENV_PREFIXES) and key.lower() not in DROPPED_ENV_NAMES}
        config = os.path.join(self.workdir, "ansible.cfg")
        with open(config, "w") as handle:
            handle.write("[defaults]\nretry_files_enabled = False\nlocal_tmp = %s\nremote_tmp = %s\n"
                         % (os.path.join(self.workdir, "ansible-local"), os.path.join(self.workdir, "ansible-remote")))
            # bench/callback_plugins/task_timer.py: how long each task took over all hosts.
            handle.write("callback_plugins = %s\ncallbacks_enabled = task_timer\n"
                         % os.path.join(BENCH, "callback_plugins"))
        env.update({
            "ANSIBLE_CONFIG": config,
            "ANSIBLE_COLLECTIONS_PATH": self.collections,
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
            "ANSIBLE_NOCOLOR": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        })
        return env

    def inventory(self, name, vpses, identify):
        """Write an inventory naming each host's VPS by ``identify``: vps_id, name or ip."""
        hosts = {}
        for number, vps in enumerate(vpses, 1):
            if identify == "vps_id":
                hosts[vps["name"]] = {"hostup_vps_id": vps["id"]}
            elif identify == "name":
                hosts[vps["name"]] = {}
            elif identify == "ip":
                hosts["host-%03d" % number] = {"ansible_host": vps["primaryIp"]}
            else:
                raise ValueError(identify)
        data = {"all": {"hosts": hosts, "vars": {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "hostup_api_url": self.sim_url,
            "hostup_api_key": API_KEY,
            "bench_reason": REASON,
        }}}
        path = os.path.join(self.workdir, "inventory-%s.yml" % name)
        with open(path, "w") as handle:
            json.dump(data, handle, indent=1)  # JSON is YAML: the yaml inventory plugin reads it
        return path

    def write_play(self, name, text):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as handle:
            handle.write(text)
        return path

    def run(self, playbook, inventory, forks, hosts):
        """Run one ansible-playbook process; wall and CPU time of it and its children, and the recap."""
        self.runs += 1
        output_path = os.path.join(self.workdir, "run-%03d.out" % self.runs)
        times_path = output_path + ".tasks.json"
        env = dict(self.env, HOSTUP_BENCH_TASK_TIMES=times_path)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started_epoch = time.time()
        started = time.perf_counter()
        timed_out = False
        with open(output_path, "wb") as output:
            process = subprocess.Popen([self.playbook_cmd, "-i", inventory, "-f", str(forks), playbook],
                                       cwd=self.workdir, env=env, stdout=output, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                returncode = process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(process.pid, signal.SIGKILL)  # the play's own process group, nothing else
                returncode = process.wait()
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        with open(output_path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        recap = parse_recap(text)
        try:
            with open(times_path) as handle:
                task_times = json.load(handle)["tasks"]
        except (OSError, ValueError, KeyError):
            task_times = []
        failed = sum(1 for counts in recap.values() if counts["failed"] or counts["unreachable"])
        if returncode != 0:
            # A play that timed out or stopped early: the hosts missing from its recap did not finish.
            failed += max(0, hosts - len(recap))
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "started_epoch": started_epoch,
            "returncode": returncode,
            "timed_out": timed_out,
            "failed_hosts": min(failed, hosts),
            "changed_hosts": sum(1 for counts in recap.values() if counts["changed"]),
            "output": output_path,
            "task_times": task_times,
        }


def parse_recap(text):
    """PLAY RECAP lines -> {host: {ok, changed, unreachable, failed}} (the last recap wins)."""
    recap = {}
    in_recap = False
    for line in text.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            recap = {}
            continue
        if in_recap:
            match = RECAP_LINE.match(line)
            if match:
                recap[match.group("host")] = {key: int(match.group(key))
                                              for key in ("ok", "changed", "unreachable", "failed")}
    return recap


# ----------------------------------------------------------------------------------------------------
# Scenarios
# ----------------------------------------------------------------------------------------------------

ONE_MODULE_TASK = """---
- name: One hostup.cloud.hostup_port25_request task
  hosts: all
  gather_facts: false
  tasks:
    - name: File the port 25 unblock request
      hostup.cloud.hostup_port25_request:
        vps_id: "{{ hostup_vps_id }}"
        reason: "{{ bench_reason }}"
        api_key: "{{ hostup_api_key }}"
        api_url: "{{ hostup_api_url }}"
"""

NO_TASK = """---
- name: No task (what every play costs before its first task)
  hosts: all
  gather_facts: false
  tasks: []
"""


class Bench(object):
    def __init__(self, options, sim, ansible):
        self.options = options
        self.sim = sim
        self.ansible = ansible
        self.rows = {}        # key -> {"label", "tool", "run", "limited", "identify", "runs": [...]}
        self.overhead = None
        self.imports = None

    def say(self, text):
        if not self.options.quiet:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def record(self, key, meta, run):
        row = self.rows.setdefault(key, dict(meta, runs=[]))
        row["runs"].append(run)
        self.say("  %-32s %6.2f s  failed %d  requests %s  429s %d" % (
            key, run["wall_s"], run["failed_hosts"], json.dumps(run["log"]["by_method"], sort_keys=True),
            run["log"]["rate_limited"]))

    def fleet_sequence(self, tool, limited, identify, runs):
        """Fresh state, then the play ``runs`` times (first, second) against it.

        ``limited``: None, "window" (the --rate-limit fixed window) or "bucket" (the --bucket token bucket).
        """
        hosts = self.options.hosts
        limit = None
        if limited == "window":
            limit = {"requests": self.options.rate_limit[0], "per_seconds": self.options.rate_limit[1]}
        elif limited == "bucket":
            limit = {"burst": self.options.bucket[0], "per_second": self.options.bucket[1]}
        vpses = self.sim.fresh_state(hosts, limit)
        playbook = self.fleet_playbooks()[tool]
        inventory = self.ansible.inventory("%s-%s" % (tool, identify), vpses, identify)
        for run_name in runs:
            self.sim.take_log()
            self.sim.set_rate_limit(limit)  # each run starts with fresh windows
            stored_before = self.sim.port25_request_count()
            run = self.ansible.run(playbook, inventory, self.options.forks, hosts)
            run["log"] = summarize_log(self.sim.take_log(run["output"] + ".sim-log.json"), run["started_epoch"])
            run["stored_added"] = self.sim.port25_request_count() - stored_before
            key = "%s%s-%s%s" % (tool, {None: "", "window": "-limited", "bucket": "-bucket"}[limited], run_name,
                                 "" if identify == "vps_id" else "-by-" + identify)
            meta = {"tool": tool, "run": run_name, "limited": limited, "identify": identify}
            self.record(key, meta, run)

    def fleet_playbooks(self):
        """role: the role; baseline: the uri play; task: the role's one API task alone, without the role."""
        return {
            "role": os.path.join(BENCH, "role_play.yml"),
            "baseline": os.path.join(BENCH, "baseline_uri.yml"),
            "retry": os.path.join(BENCH, "baseline_uri_retry.yml"),
            "task": self.ansible.write_play("one_module_task.yml", ONE_MODULE_TASK),
        }

    def one_task_runs(self):
        """One task on one host, three ways: no task (startup), the collection's module, ansible.builtin.uri."""
        plays = {
            "no task": self.ansible.write_play("no_task.yml", NO_TASK),
            "module task": self.ansible.write_play("one_module_task.yml", ONE_MODULE_TASK),
            "uri task": os.path.join(BENCH, "baseline_uri.yml"),
        }
        order = list(plays)
        results = self.overhead or {name: [] for name in plays}
        # A different order each round, so that slow drift on a busy machine hits all three alike.
        shift = len(results[order[0]])
        for index in range(len(order)):
            name = order[(index + shift) % len(order)]
            vpses = self.sim.fresh_state(1, None)
            inventory = self.ansible.inventory("one-host", vpses, "vps_id")
            self.sim.take_log()
            run = self.ansible.run(plays[name], inventory, 1, 1)
            run["log"] = summarize_log(self.sim.take_log(run["output"] + ".sim-log.json"), run["started_epoch"])
            results[name].append(run)
            self.say("  %-32s %6.2f s  cpu %.2f s  failed %d"
                     % (name, run["wall_s"], run["cpu_s"], run["failed_hosts"]))
        self.overhead = results

    def import_costs(self):
        """Interpreter start and imports of the venv's Python: what a module process pays on every host."""
        python = self.ansible.python
        env = dict(self.ansible.env, PYTHONPATH=self.ansible.collections)
        snippets = {
            "python -c pass": "pass",
            "import requests": "import requests",
            "import ansible.module_utils.basic": "import ansible.module_utils.basic",
            "import ansible.module_utils.urls": "import ansible.module_utils.urls",
            "import the collection's client": "import ansible_collections.hostup.cloud.plugins.module_utils._client",
        }
        rounds = max(5, self.options.repeat * 3)
        timings = {name: [] for name in snippets}
        for dummy in range(rounds):
            for name, code in snippets.items():
                started = time.perf_counter()
                subprocess.run([python, "-c", code], env=env, check=True, stdin=subprocess.DEVNULL)
                timings[name].append(time.perf_counter() - started)
        # -X importtime: the cumulative microseconds of the top-level `requests` import, median of rounds.
        cumulative = []
        for dummy in range(rounds):
            result = subprocess.run([python, "-X", "importtime", "-c", "import requests"], env=env,
                                    capture_output=True, text=True, check=True)
            for line in result.stderr.splitlines():
                parts = [part.strip() for part in line.split("|")]
                if len(parts) == 3 and parts[2] == "requests":
                    cumulative.append(int(parts[1]) / 1e6)
        base = median(timings["python -c pass"])
        self.imports = {
            "rounds": rounds,
            "wall_s": {name: median(values) for name, values in timings.items()},
            "over_bare_interpreter_s": {name: median(values) - base for name, values in timings.items()
                                        if name != "python -c pass"},
            "requests_importtime_cumulative_s": median(cumulative),
        }
        self.say("  import costs (median of %d): %s" % (rounds, ", ".join(
            "%s %.3f s" % (name, value) for name, value in self.imports["wall_s"].items())))

    def run_all(self):
        options = self.options
        for repetition in range(options.repeat):
            self.say("round %d of %d" % (repetition + 1, options.repeat))
            for scenario in options.scenarios:
                if scenario in ("role", "baseline", "task"):
                    self.fleet_sequence(scenario, None, "vps_id", ("first", "second"))
                elif scenario.endswith("-limited"):
                    self.fleet_sequence(scenario[:-len("-limited")], "window", "vps_id", ("first", "second"))
                elif scenario.endswith("-bucket"):
                    self.fleet_sequence(scenario[:-len("-bucket")], "bucket", "vps_id", ("first",))
                elif scenario == "identify":
                    self.fleet_sequence("role", None, "name", ("first",))
                    self.fleet_sequence("role", None, "ip", ("first",))
                elif scenario == "overhead":
                    self.one_task_runs()
        if "overhead" in options.scenarios:
            self.import_costs()


# ----------------------------------------------------------------------------------------------------
# Results: medians, ratios, bounds, targets
# ----------------------------------------------------------------------------------------------------

def summarize_row(key, row, options):
    runs = row["runs"]
    hosts = options.hosts
    wall = median([run["wall_s"] for run in runs])
    methods = sorted({method for run in runs for method in run["log"]["by_method"]})
    summary = {
        "key": key,
        "tool": row["tool"],
        "run": row["run"],
        "limited": row["limited"],
        "identify": row["identify"],
        "rounds": len(runs),
        "wall_s": wall,
        "wall_s_all": [run["wall_s"] for run in runs],
        "per_host_s": wall / hosts if wall is not None else None,
        "cpu_s": median([run["cpu_s"] for run in runs]),
        "requests_by_method": {method: median([run["log"]["by_method"].get(method, 0) for run in runs])
                               for method in methods},
        "answered_by_method": {method: median([run["log"]["answered_by_method"].get(method, 0) for run in runs])
                               for method in methods},
        "answered_per_host": median([run["log"]["answered"] / hosts for run in runs]),
        "rate_limited": median([run["log"]["rate_limited"] for run in runs]),
        "created": median([run["log"]["created"] for run in runs]),
        "stored_added": median([run["stored_added"] for run in runs]),
        "failed_hosts": median([run["failed_hosts"] for run in runs]),
        "failed_hosts_max": max(run["failed_hosts"] for run in runs),
        "changed_hosts": median([run["changed_hosts"] for run in runs]),
        "timed_out": sum(1 for run in runs if run["timed_out"]),
        "api_span_s": median([run["log"]["api_span_s"] for run in runs]),
        "first_request_s": median([run["log"]["first_request_s"] for run in runs]),
        "task_times_s": task_time_medians(runs),
    }
    if row["limited"]:
        # Requests the play needs: one POST per host with vps_id (the role and the baseline alike).
        needed = hosts * (1 if row["identify"] == "vps_id" else 2)
        summary["needed_requests"] = needed
        if row["limited"] == "bucket":
            summary["bound_s"] = bucket_bound(needed, options.bucket)
        else:
            summary["bound_s"] = rate_limit_bound(needed, options.rate_limit)
        summary["vs_bound"] = ratio(wall, summary["bound_s"])
        summary["span_vs_bound"] = ratio(summary["api_span_s"], summary["bound_s"])
    return summary


def task_time_medians(runs):
    """[(task name, median seconds over all hosts)] in the order the tasks ran (task_timer.py)."""
    names = []
    for run in runs:
        for task in run.get("task_times") or []:
            if task["name"] not in names:
                names.append(task["name"])
    result = []
    for name in names:
        values = [task["duration_s"] for run in runs for task in run.get("task_times") or []
                  if task["name"] == name and task["duration_s"] is not None]
        result.append((name, median(values)))
    return result


def build_results(bench, options, meta):
    rows = {key: summarize_row(key, row, options) for key, row in bench.rows.items()}
    for key, row in rows.items():
        if row["tool"] in ("role", "task") and row["identify"] == "vps_id":
            # Under the token bucket the fair comparison is the uri play that retries on 429.
            twin = rows.get(("retry" if row["limited"] == "bucket" else "baseline") + key[len(row["tool"]):])
            row["vs_baseline"] = ratio(row["wall_s"], twin["wall_s"]) if twin else None
    results = {"meta": meta, "rows": rows}
    if bench.overhead:
        walls = {name: median([run["wall_s"] for run in runs]) for name, runs in bench.overhead.items()}
        cpus = {name: median([run["cpu_s"] for run in runs]) for name, runs in bench.overhead.items()}
        startup = walls["no task"]
        net = {name: walls[name] - startup for name in ("module task", "uri task")}
        net_cpu = {name: cpus[name] - cpus["no task"] for name in ("module task", "uri task")}
        results["one_task"] = {
            "rounds": len(bench.overhead["no task"]),
            "wall_s": walls,
            "cpu_s": cpus,
            "failed": {name: sum(run["failed_hosts"] for run in runs) for name, runs in bench.overhead.items()},
            "net_of_no_task_s": net,
            "net_cpu_of_no_task_s": net_cpu,
            "ratio_whole_process": ratio(walls["module task"], walls["uri task"]),
            "ratio_net": ratio(net["module task"], net["uri task"]) if net["uri task"] > 0 else None,
        }
    if bench.imports:
        results["imports"] = bench.imports
    results["targets"] = evaluate_targets(results, options)
    return results


def check(name, measured, limit, passed, note=""):
    """One target line: PASS or MISS; n/a when it cannot be judged; INFO (passed="info") for context only."""
    status = "INFO" if passed == "info" else "n/a" if passed is None else ("PASS" if passed else "MISS")
    return {"target": name, "measured": measured, "limit": limit, "status": status, "note": note}


def evaluate_targets(results, options):
    rows = results["rows"]
    targets = []
    # The parity targets: the collection costs no more than the hand-written uri play (requests per
    # host, a second run that writes nothing, wall time within 1.10x for the fleet and 1.20x for one
    # task) and holds a fixed-window rate limit (no failed host, within 1.30x of the bound).

    def per_host_check(key, expected, label):
        row = rows.get(key)
        if not row:
            return
        value = row["answered_per_host"]
        targets.append(check("request count: API requests per host, %s" % label, fmt(value, 2), "= %d" % expected,
                             value == expected))

    per_host_check("role-first", 1, "role by vps_id")
    per_host_check("role-first-by-name", 2, "role by name")
    per_host_check("role-first-by-ip", 2, "role by IP")
    for key in ("role-second", "role-limited-second"):
        row = rows.get(key)
        if row:
            targets.append(check("idempotence: second run writes nothing (%s)" % key,
                                 "%d created, %d stored" % (row["created"], row["stored_added"]), "0",
                                 row["created"] == 0 and row["stored_added"] == 0))
    for key in ("role-first", "role-second"):
        row = rows.get(key)
        if row and row.get("vs_baseline") is not None:
            targets.append(check("fleet parity: %s wall time vs baseline, no rate limit" % key,
                                 fmt_ratio(row["vs_baseline"]), "≤ 1.10×", row["vs_baseline"] <= 1.1))
    for key in ("role-limited-first", "role-limited-second"):
        row = rows.get(key)
        if row:
            targets.append(check("fixed-window limit: %s failed hosts" % key, fmt(row["failed_hosts_max"]), "0",
                                 row["failed_hosts_max"] == 0))
            if row["vs_bound"] is not None:
                targets.append(check("fixed-window limit: %s wall time vs rate-limit bound (%.0f s)"
                                     % (key, row["bound_s"]),
                                     fmt_ratio(row["vs_bound"]), "≤ 1.30×", row["vs_bound"] <= 1.3,
                                     "first to last request: %s of the bound; Ansible started its first "
                                     "request after %s s" % (fmt_ratio(row["span_vs_bound"]),
                                                             fmt(row["first_request_s"], 1))))
            else:
                targets.append(check("fixed-window limit: %s wall time vs rate-limit bound" % key, "bound is 0 s",
                                     "≤ 1.30×", None, "the limit does not bind for this many hosts"))
    baseline_limited = rows.get("baseline-limited-first")
    if baseline_limited:
        targets.append(check("fixed-window limit: the baseline fails hosts under the rate limit (expected)",
                             fmt(baseline_limited["failed_hosts"]), "> 0", baseline_limited["failed_hosts"] > 0,
                             "not a target of the collection; shows the limit binds"))
    one_task = results.get("one_task")
    if one_task:
        targets.append(check("single-task parity: one task on one host, whole ansible-playbook process, module / uri",
                             fmt_ratio(one_task["ratio_whole_process"]), "≤ 1.20×",
                             one_task["ratio_whole_process"] <= 1.2))
        if one_task["ratio_net"] is not None:
            targets.append(check("single-task parity: one task on one host, net of a play with no task, module / uri",
                                 fmt_ratio(one_task["ratio_net"]), "≤ 1.20×", one_task["ratio_net"] <= 1.2))

    # The speed-up targets of controller-side execution: the role within 0.20x of the uri play's
    # wall time, one task within 0.50x, and a token bucket ("burst 20, then 1 request/s", --bucket)
    # held with no failed host, within 1.10x of its bound and with fewer 429 answers than a uri play
    # that retries. The fixed-window figure follows them as context.
    for key in ("role-first", "role-second"):
        row = rows.get(key)
        if row and row.get("vs_baseline") is not None:
            targets.append(check("fleet speed-up: %s wall time vs baseline" % key, fmt_ratio(row["vs_baseline"]),
                                 "≤ 0.20×", row["vs_baseline"] <= 0.2))
    if one_task:
        targets.append(check("single-task speed-up: one task on one host, whole process, module / uri",
                             fmt_ratio(one_task["ratio_whole_process"]), "≤ 0.50×",
                             one_task["ratio_whole_process"] <= 0.5))
        if one_task["ratio_net"] is not None:
            targets.append(check("single-task speed-up: one task on one host, net of a play with no task, module / uri",
                                 fmt_ratio(one_task["ratio_net"]), "≤ 0.50×", one_task["ratio_net"] <= 0.5))
    row = rows.get("role-bucket-first")
    retry = rows.get("retry-bucket-first")
    bucket = "%d + %g/s" % options.bucket
    if row:
        targets.append(check("token-bucket limit: role-bucket-first failed hosts (token bucket %s)" % bucket,
                             fmt(row["failed_hosts_max"]), "0", row["failed_hosts_max"] == 0))
        if row["vs_bound"] is not None:
            targets.append(check("token-bucket limit: role-bucket-first wall time vs bound (%.0f s)" % row["bound_s"],
                                 fmt_ratio(row["vs_bound"]), "≤ 1.10×", row["vs_bound"] <= 1.1,
                                 "first to last request: %s of the bound; first request after %s s" % (
                                     fmt_ratio(row["span_vs_bound"]), fmt(row["first_request_s"], 1))))
        if retry:
            targets.append(check("token-bucket limit: role-bucket-first 429 answers vs the uri play retrying with "
                                 "until/retries", "%s vs %s" % (fmt(row["rate_limited"]), fmt(retry["rate_limited"])),
                                 "fewer", row["rate_limited"] < retry["rate_limited"],
                                 "uri: %s failed hosts, %s of the bound" % (
                                     fmt(retry["failed_hosts_max"]), fmt_ratio(retry["vs_bound"]))))
    row = rows.get("role-limited-first")
    if row and row["vs_bound"] is not None:
        targets.append(check("context: role-limited-first wall time vs bound (fixed window %d/%gs)"
                             % options.rate_limit, fmt_ratio(row["vs_bound"]), "–", "info"))

    # Context, not targets: the role's API task alone shows what the role's other tasks add.
    for key in ("task-first", "task-second"):
        row = rows.get(key)
        if row and row.get("vs_baseline") is not None:
            targets.append(check("context: %s (the module task without the role) wall time vs baseline" % key,
                                 fmt_ratio(row["vs_baseline"]), "–", "info"))
    row = rows.get("task-limited-first")
    if row and row.get("vs_bound") is not None:
        targets.append(check("context: task-limited-first failed hosts, wall time vs bound",
                             "%s failed, %s" % (fmt(row["failed_hosts_max"]), fmt_ratio(row["vs_bound"])), "–",
                             "info"))
    return targets


# ----------------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------------

ROW_LABELS = {
    "role-first": "role, first run",
    "role-second": "role, second run",
    "baseline-first": "uri baseline, first run",
    "baseline-second": "uri baseline, second run",
    "task-first": "one module task, no role, first run",
    "task-second": "one module task, no role, second run",
    "role-limited-first": "role, first run, rate limited",
    "role-limited-second": "role, second run, rate limited",
    "baseline-limited-first": "uri baseline, first run, rate limited",
    "baseline-limited-second": "uri baseline, second run, rate limited",
    "task-limited-first": "one module task, no role, first run, rate limited",
    "task-limited-second": "one module task, no role, second run, rate limited",
    "role-bucket-first": "role, first run, token bucket",
    "retry-bucket-first": "uri retrying on 429, first run, token bucket",
    "task-bucket-first": "one module task, no role, first run, token bucket",
    "role-first-by-name": "role by name, first run",
    "role-first-by-ip": "role by IP, first run",
}


def markdown(results, options):
    meta = results["meta"]
    lines = []
    limit = "%d requests per %g s (fixed window), token bucket %d + %g/s" % (options.rate_limit + options.bucket)
    lines.append("Measured %s on %s (%d cores, load average %s at the start), ansible-core %s, "
                 "commit %s%s; collection %s." % (
                     meta["date"], meta["machine"], meta["cpus"], meta["load_before"], meta["ansible_core"],
                     meta["git"]["commit"], " with uncommitted changes" if meta["git"]["code_differs_from_commit"]
                     else "", meta["execution"]))
    lines.append("%d hosts, forks %d, %g ms latency per API request, rate limit (where marked) %s; "
                 "median of %d rounds. Command: `%s`." % (
                     options.hosts, options.forks, options.latency_ms, limit, options.repeat, meta["command"]))
    lines.append("")
    rows = results["rows"]
    if rows:
        lines.append("| scenario | wall s | per host s | CPU s | GET | POST | 429 | failed hosts | changed hosts "
                     "| vs uri | bound s | wall / bound | API span / bound |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for key in [key for key in ROW_LABELS if key in rows] + [key for key in rows if key not in ROW_LABELS]:
            row = rows[key]
            methods = row["requests_by_method"]
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                ROW_LABELS.get(key, key), fmt(row["wall_s"]), fmt(row["per_host_s"], 3), fmt(row["cpu_s"], 1),
                fmt(methods.get("GET", 0)), fmt(methods.get("POST", 0)), fmt(row["rate_limited"]),
                fmt(row["failed_hosts"]), fmt(row["changed_hosts"]), fmt_ratio(row.get("vs_baseline")),
                fmt(row.get("bound_s"), 0), fmt_ratio(row.get("vs_bound")), fmt_ratio(row.get("span_vs_bound"))))
        lines.append("")
        lines.append("GET/POST/429: requests the simulator logged (medians), 429 answers included in the "
                     "method counts. CPU s: user + system time of ansible-playbook and every process it started. "
                     "bound: seconds from the first request until the last needed one can be admitted under the "
                     "rate limit; API span: first to last request in the simulator's log (the wall time also "
                     "holds Ansible's start-up before the first request and the tasks after the last).")
        lines.append("")
        profiled = [key for key in ("role-first", "task-first", "baseline-first") if rows.get(key, {}).get("task_times_s")]
        if profiled:
            lines.append("Where the time goes (bench/callback_plugins/task_timer.py; seconds per task over all "
                         "hosts, medians; the rest of the wall time is `ansible-playbook` starting and ending):")
            lines.append("")
            lines.append("| scenario | task | s |")
            lines.append("|---|---|---:|")
            for key in profiled:
                for name, seconds in rows[key]["task_times_s"]:
                    lines.append("| %s | %s | %s |" % (ROW_LABELS.get(key, key), name.replace("|", "/"),
                                                       fmt(seconds)))
            lines.append("")
    one_task = results.get("one_task")
    if one_task:
        lines.append("One task on one host (whole `ansible-playbook` process, median of %d):" % one_task["rounds"])
        lines.append("")
        lines.append("| play | wall s | CPU s | wall s net of the play with no task | CPU s net |")
        lines.append("|---|---:|---:|---:|---:|")
        for name in ("no task", "module task", "uri task"):
            lines.append("| %s | %s | %s | %s | %s |" % (
                name, fmt(one_task["wall_s"][name]), fmt(one_task["cpu_s"][name]),
                fmt(one_task["net_of_no_task_s"].get(name)), fmt(one_task["net_cpu_of_no_task_s"].get(name))))
        lines.append("")
        lines.append("module / uri: %s for the whole process, %s net of the play with no task." % (
            fmt_ratio(one_task["ratio_whole_process"]), fmt_ratio(one_task["ratio_net"])))
        lines.append("")
    imports = results.get("imports")
    if imports:
        lines.append("Interpreter start and imports in the venv's Python (what a module process pays per host; "
                     "median of %d):" % imports["rounds"])
        lines.append("")
        lines.append("| command | wall s | over `python -c pass` |")
        lines.append("|---|---:|---:|")
        for name, value in imports["wall_s"].items():
            extra = imports["over_bare_interpreter_s"].get(name)
            lines.append("| `%s` | %s | %s |" % (name, fmt(value, 3), fmt(extra, 3)))
        lines.append("")
        lines.append("`python -X importtime -c 'import requests'`: %s s cumulative for `requests`." % fmt(
            imports["requests_importtime_cumulative_s"], 3))
        lines.append("")
    if results["targets"]:
        lines.append("| target | measured | limit | result |")
        lines.append("|---|---|---|---|")
        for target in results["targets"]:
            note = " (%s)" % target["note"] if target["note"] else ""
            lines.append("| %s%s | %s | %s | %s |"
                         % (target["target"], note, target["measured"], target["limit"], target["status"]))
        lines.append("")
    return "\n".join(lines)


def publish(table, label):
    """Replace the section between this label's markers in docs/benchmark.md, or append one."""
    begin = "<!-- bench:%s:begin -->" % label
    end = "<!-- bench:%s:end -->" % label
    block = "%s\n%s\n%s" % (begin, table.rstrip("\n"), end)
    text = open(DOC, encoding="utf-8").read() if os.path.exists(DOC) else "# Benchmark\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## %s\n\n%s\n" % (label, block)
    with open(DOC, "w", encoding="utf-8") as handle:
        handle.write(text)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=50, help="hosts (VPSes) per fleet run (default 50)")
    parser.add_argument("--forks", type=int, default=10, help="ansible-playbook --forks (default 10)")
    parser.add_argument("--latency-ms", type=float, default=30, help="added latency per API request (default 30)")
    parser.add_argument("--rate-limit", type=parse_rate_limit, default=parse_rate_limit("20/10"),
                        metavar="N/SECONDS", help="rate limit of the *-limited scenarios (default 20/10)")
    parser.add_argument("--bucket", type=parse_bucket, default=parse_bucket("20+1/s"), metavar="BURST+RATE/s",
                        help="token bucket of the *-bucket scenarios (default 20+1/s: 20 at once, then 1/s)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the report shows medians (default 3)")
    parser.add_argument("--scenarios", type=parse_scenarios, default=list(ALL_SCENARIOS),
                        help="comma-separated: %s; or all, limited, bucket (default all)" % ", ".join(ALL_SCENARIOS))
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per play (default 600)")
    parser.add_argument("--out", default=os.path.join(BENCH, "results"),
                        help="folder for latest.json and latest.md (default bench/results)")
    parser.add_argument("--publish", action="store_true", help="write the table into docs/benchmark.md")
    parser.add_argument("--label", help="the docs/benchmark.md section --publish replaces (default latest, "
                                        "or module-process with --hide-action-plugins)")
    parser.add_argument("--hide-action-plugins", action="store_true",
                        help="run the collection without its plugins/action, so each API task is a module process")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temp folder (inventories, play output)")
    parser.add_argument("--quiet", action="store_true", help="print only the report")
    options = parser.parse_args(argv)
    if options.hosts < 1 or options.forks < 1 or options.repeat < 1 or options.latency_ms < 0:
        parser.error("--hosts, --forks and --repeat must be at least 1, --latency-ms at least 0")
    if options.label is None:
        options.label = "module-process" if options.hide_action_plugins else "latest"
    return options


def main(argv=None):
    options = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    venv = tools_venv()
    workdir = tempfile.mkdtemp(prefix="hostup-bench.")
    sim = SimulatorProcess(os.path.join(venv, "bin", "python"), workdir, options.latency_ms)
    previous_handler = signal.signal(signal.SIGTERM, lambda *args: sys.exit(143))
    try:
        sim.start()
        ansible = Ansible(venv, workdir, sim.url, options.hide_action_plugins, options.timeout)
        core = subprocess.run([ansible.python, "-c", "import ansible; print(ansible.__version__)"],
                              capture_output=True, text=True, check=True).stdout.strip()
        meta = {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": "%s %s" % (platform.system(), platform.machine()),
            "cpus": os.cpu_count(),
            "load_before": "%.2f" % os.getloadavg()[0],
            "ansible_core": core,
            "python": subprocess.run([ansible.python, "-c", "import sys; print(sys.version.split()[0])"],
                                     capture_output=True, text=True, check=True).stdout.strip(),
            "git": git_describe(),
            "execution": ("with plugins/action hidden (module processes)" if options.hide_action_plugins
                          else "as in the checkout"),
            "command": " ".join(["python bench/run_bench.py"] + (sys.argv[1:] if argv is None else list(argv))),
            "options": {"hosts": options.hosts, "forks": options.forks, "latency_ms": options.latency_ms,
                        "rate_limit": {"requests": options.rate_limit[0], "per_seconds": options.rate_limit[1]},
                        "bucket": {"burst": options.bucket[0], "per_second": options.bucket[1]},
                        "repeat": options.repeat, "scenarios": options.scenarios, "timeout": options.timeout},
        }
        bench = Bench(options, sim, ansible)
        bench.say("simulator %s, latency %g ms; temp folder %s" % (sim.url, options.latency_ms, workdir))
        bench.run_all()
        meta["load_after"] = "%.2f" % os.getloadavg()[0]
        meta["runtime_s"] = round(time.perf_counter() - started, 1)
        results = build_results(bench, options, meta)
        table = markdown(results, options)
        os.makedirs(options.out, exist_ok=True)
        with open(os.path.join(options.out, "latest.json"), "w") as handle:
            json.dump(results, handle, indent=2, sort_keys=True)
            handle.write("\n")
        with open(os.path.join(options.out, "latest.md"), "w") as handle:
            handle.write(table + "\n")
        sys.stdout.write("\n" + table + "\n")
        for target in results["targets"]:
            sys.stdout.write("%-4s %s: %s (limit %s)%s\n" % (
                target["status"], target["target"], target["measured"], target["limit"],
                " — " + target["note"] if target["note"] else ""))
        sys.stdout.write("runtime %.1f s; results in %s\n" % (meta["runtime_s"], options.out))
        if options.publish:
            publish(table, options.label)
            sys.stdout.write("published to %s (section %s)\n" % (DOC, options.label))
    finally:
        sim.stop()
        signal.signal(signal.SIGTERM, previous_handler)
        if options.keep_temp:
            sys.stdout.write("kept %s\n" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
