#!/usr/bin/env bash
# playbooks/mail_server.yml run as AWX runs a job: through ansible-runner (process isolation, no container),
# from a private data directory laid out the way docs/guide.md's AWX walk-through sets AWX up, step by step:
#   1. the credential type of docs/awx  -> env/envvars holds exactly what its injectors render
#   2. a credential of that type        -> the key and the simulator's URL as its inputs
#   3. a project with the playbook      -> project/ with mail_server.yml and its templates; the collection
#                                          from project/collections/requirements.yml, installed there by
#                                          `ansible-galaxy collection install -r` as AWX's project update does
#   4. an inventory "Sourced from a Project" -> inventory/inventory.hostup.yml (hostup.cloud.vps)
#   5. a job template                   -> env/extravars and env/cmdline (Skip Tags: postfix)
# Then the job's artifacts must show a successful run over the hosts the inventory plugin found, the simulator
# one read of the port 25 state and one port 25 request per host, and no job event or output the API key
# (only the two records of the job's environment hold it: ansible-runner's, and the facts of these hosts,
# which are this machine).
set -euxo pipefail

# shellcheck source=../setup_hostup_simulator/simulator.sh
source ../setup_hostup_simulator/simulator.sh
root=$(hostup_sim_collection_root)
python=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/hostup-awx.XXXXXX")
data="${work}/job"

# A key nobody could guess, so that finding it anywhere means it leaked; the simulator accepts it.
key="awx-$("${python}" -c 'import secrets; print(secrets.token_hex(16))')"
"${python}" -c '
import json, sys
with open(sys.argv[1]) as handle:
    state = json.load(handle)
state["keys"].append({"key": sys.argv[2], "name": "awx", "scopes": ["read:vm", "write:support"]})
with open(sys.argv[3], "w") as handle:
    json.dump(state, handle)
' "${root}/tests/simulator/default_state.json" "${key}" "${work}/state.json"
HOSTUP_SIM_STATE="${work}/state.json" hostup_sim_start
trap 'hostup_sim_stop; rm -rf "${work}"' EXIT

# ansible-runner: this venv's, else the tools venv's (it drives whatever ansible-playbook PATH finds first,
# so on another ansible-core release the job still runs on the release under test).
if command -v ansible-runner >/dev/null; then
    runner=$(command -v ansible-runner)
else
    runner="$("${root}/.ci/venv.sh" tools)/bin/ansible-runner"
fi
"${runner}" --version
ansible-playbook --version | head -n 1

# --- 1 and 2: the credential -> env/envvars, rendered from the credential type's injectors ------------
mkdir -p "${data}/env" "${data}/inventory" "${data}/project/collections" "${data}/project/templates"
"${python}" -c '
import json, sys
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment
with open(sys.argv[1]) as handle:
    injectors = yaml.safe_load(handle)
inputs = {"api_key": sys.argv[2], "api_url": sys.argv[3]}
sandbox = ImmutableSandboxedEnvironment()
envvars = {name: sandbox.from_string(template).render(**inputs) for name, template in injectors["env"].items()}
assert envvars == {"HOSTUP_API_KEY": sys.argv[2], "HOSTUP_API_URL": sys.argv[3]}, sorted(envvars)
with open(sys.argv[4], "w") as handle:
    json.dump(envvars, handle)
' "${root}/docs/awx/credential_type_injectors.yml" "${key}" "${HOSTUP_SIM_URL}" "${data}/env/envvars"

# --- 3: the project: the playbook and what it needs, the collection from collections/requirements.yml ------
cp "${root}/playbooks/mail_server.yml" "${data}/project/"
cp "${root}/playbooks/templates/main.cf.j2" "${data}/project/templates/"
# The git source stands in for https://github.com/hostup-cloud/ansible-collection-hostup.git: a one-commit
# clone of the collection under test, branch main.
mkdir "${work}/collection.git"
(cd "${root}" && tar --exclude=./tests/output --exclude=./.git -cf - .) | tar -xf - -C "${work}/collection.git"
git -C "${work}/collection.git" init -q -b main
git -C "${work}/collection.git" add -A
git -C "${work}/collection.git" -c user.name=test -c user.email=test@example.invalid commit -qm snapshot
cat >"${data}/project/collections/requirements.yml" <<REQUIREMENTS
---
collections:
  - name: git+file://${work}/collection.git
    type: git
    version: main
REQUIREMENTS
(cd "${data}/project" && ansible-galaxy collection install -r collections/requirements.yml -p collections)
installed="${data}/project/collections/ansible_collections/hostup/cloud"
[ -f "${installed}/MANIFEST.json" ] && [ -f "${installed}/roles/port25_unblock/tasks/main.yml" ]
# Installed as built: no checkout-only tools.
[ ! -e "${installed}/scripts" ] && [ ! -e "${installed}/bench" ]

# --- 4: the inventory source ----------------------------------------------------------------------------
cp inventory.hostup.yml "${data}/inventory/inventory.hostup.yml"

# --- 5: the job template: extra variables, and Skip Tags postfix (this machine is no mail server) ------------
# The hosts' addresses are documentation addresses: the job reaches them locally, without privilege escalation.
cat >"${data}/env/extravars" <<'EXTRAVARS'
---
ansible_connection: local
ansible_become: false
ansible_python_interpreter: "{{ ansible_playbook_python }}"
hostup_port25_reason: Transactional mail for example.com from authenticated users, DKIM signed, with bounce handling.
EXTRAVARS
printf '%s\n' '--skip-tags postfix' >"${data}/env/cmdline"

# --- The job: a clean environment, as an AWX job has; only the credential brings HOSTUP_* -----------------
hostup_sim_admin DELETE /_sim/log
start=$(date +%s)
env -i PATH="${PATH}" HOME="${HOME}" LANG=C.UTF-8 TMPDIR="${TMPDIR:-/tmp}" \
    "${runner}" run "${data}" -p mail_server.yml --ident job1 >"${work}/runner.out" 2>&1 || true
cat "${work}/runner.out"
echo "ansible-runner job took $(($(date +%s) - start)) s"

# --- What the job's artifacts and the simulator say ----------------------------------------------------------
"${python}" - "${data}/artifacts/job1" "${HOSTUP_SIM_URL}" "${key}" "${installed}" <<'CHECK'
import json, os, sys, urllib.request

artifacts, sim_url, key, installed = sys.argv[1:]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
state = json.load(opener.open(sim_url + "/_sim/state", timeout=10))
log = json.load(opener.open(sim_url + "/_sim/log", timeout=10))["requests"]

with open(os.path.join(artifacts, "rc")) as handle:
    assert handle.read().strip() == "0", "rc"
with open(os.path.join(artifacts, "status")) as handle:
    assert handle.read().strip() == "successful", "status"

events = []
for name in os.listdir(os.path.join(artifacts, "job_events")):
    with open(os.path.join(artifacts, "job_events", name)) as handle:
        events.append(json.load(handle))
events.sort(key=lambda event: event["counter"])

# The hosts are the running mail-* VPSes of the account, as the hostup.cloud.vps inventory plugin names them,
# each carrying the hostup_vps_id the plugin set (no lookup by name or address was needed).
vps = {v["name"]: v["id"] for v in state["vps"] if v["name"].startswith("mail-") and v["powerState"] == "running"}
assert sorted(vps) == ["mail-01", "mail-02", "mail-03"], vps
stats = [e for e in events if e["event"] == "playbook_on_stats"][-1]["event_data"]
assert sorted(stats["processed"]) == sorted(vps), stats
assert not stats["failures"] and not stats["dark"], stats
assert stats["changed"] == {host: 1 for host in vps}, stats
filed = {e["event_data"]["host"]: e["event_data"]["res"] for e in events
         if e["event"] == "runner_on_ok" and e["event_data"].get("task_action") == "hostup.cloud.hostup_port25_request"}
assert {host: res["port25_request"]["vps_id"] for host, res in filed.items()} == vps, filed
assert all(res["changed"] for res in filed.values()), filed
# The role's one summary line for the play, in the job's events as AWX shows them.
summaries = [e["event_data"]["res"].get("msg") for e in events
             if e["event"] == "runner_on_ok" and e["event_data"].get("task", "").startswith("Report the port 25 state")]
assert summaries == ["port25: filed 3, already pending 0, unblocked 0, rejected 0, failed 0"], summaries
# The role ran from the collection the project installed, not from anywhere else.
role_paths = {e["event_data"]["task_path"] for e in events
              if e["event"] == "playbook_on_task_start" and "port25_unblock" in e["event_data"].get("task_path", "")}
assert role_paths and all(path.startswith(installed + "/roles/port25_unblock/") for path in role_paths), role_paths
# The Postfix tasks were skipped by tag: no task of theirs started.
started = [e["event_data"]["task"] for e in events if e["event"] == "playbook_on_task_start"]
assert not [task for task in started if "ostfix" in task], started

# The simulator: the inventory's one list, the role's one read of the account's port 25 state for the play,
# then one POST per host for its own VPS, all filed; every request made with the credential's key.
assert [(r["method"], r["path"]) for r in log if r["method"] != "POST"] == [
    ("GET", "/api/v2/vps"), ("GET", "/api/port25/requests")], log
assert [(r["method"], r["path"]) for r in log[:2]] == [("GET", "/api/v2/vps"), ("GET", "/api/port25/requests")], log
assert {r["key_name"] for r in log} == {"awx"}, log
posts = [r for r in log if r["method"] == "POST"]
assert all(r["path"] == "/api/v2/support/port25-requests" and r["status"] == 201 for r in posts), posts
assert sorted(r["body"]["vpsId"] for r in posts) == sorted(vps.values()), posts

# The key: in no job event, no output, nowhere the collection writes. It is in two records of the job's own
# environment only: ansible-runner's (artifacts/command, as it stores every job's), and the gathered facts of
# the hosts, which are this very machine here (connection local), so ansible_env is the job's environment.
found = []
for folder, _dirs, files in os.walk(artifacts):
    for name in files:
        path = os.path.join(folder, name)
        with open(path, "rb") as handle:
            if key.encode() in handle.read():
                found.append(os.path.relpath(path, artifacts))
# One fact cache file per host (ansible-core may prefix its name).
fact_files = {host: [f for f in found if f.startswith("fact_cache/") and f.split("/")[-1].split("_", 1)[-1] == host]
              for host in vps}
assert all(len(files) == 1 for files in fact_files.values()), found
assert sorted(found) == sorted(["command"] + [files[0] for files in fact_files.values()]), found


def holding(value, path=()):
    """The paths, in a JSON document, of the strings that hold the key."""
    if isinstance(value, dict):
        return [found for name, item in value.items() for found in holding(item, path + (name,))]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in holding(item, path + (index,))]
    return [path] if isinstance(value, str) and key in value else []


with open(os.path.join(artifacts, "command")) as handle:
    assert holding(json.load(handle)) == [("env", "HOSTUP_API_KEY")]
for host in vps:
    with open(os.path.join(artifacts, fact_files[host][0])) as handle:
        facts = json.load(handle)
    # ansible-core 2.19 and later wrap the cached facts in a serialized payload.
    if "__payload__" in facts:
        facts = json.loads(facts["__payload__"])
    assert holding(facts) == [("ansible_env", "HOSTUP_API_KEY")], (host, holding(facts))
events_text = json.dumps(events)
assert key not in events_text and "HOSTUP_API_KEY" not in events_text
print("artifacts: successful, %d hosts from hostup.cloud.vps, %d port 25 POSTs, key in no job event or output"
      % (len(stats["processed"]), len(posts)))
CHECK
