#!/usr/bin/env bash
# The API key never shows: every module and the role, at -vvvv, with --diff, in check mode and failing,
# with the key from module_defaults, the environment, variables and role variables, while the simulator
# echoes the key back in error details, field errors, HTML pages and answers. secrets.yml checks the
# results it registers; here, everything ansible-playbook printed.
set -euo pipefail

# shellcheck source=../setup_hostup_simulator/simulator.sh
source ../setup_hostup_simulator/simulator.sh

# A key of its own, so that finding it anywhere means a leak: the default state plus this key.
secret_key="hk_live_Q7mZ3vT9xK2pL8wR4nB6"
work=$(mktemp -d "${TMPDIR:-/tmp}/hostup-secrets.XXXXXX")
trap 'rm -rf "${work}"' EXIT
"${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" -c '
import json, sys
with open(sys.argv[1]) as handle:
    state = json.load(handle)
state["keys"].append({"key": sys.argv[3], "name": "secrets", "scopes": ["read:vm", "read:support", "write:support"]})
with open(sys.argv[2], "w") as handle:
    json.dump(state, handle)
' "$(hostup_sim_collection_root)/tests/simulator/default_state.json" "${work}/state.json" "${secret_key}"
HOSTUP_SIM_STATE="${work}/state.json" hostup_sim_start
trap 'hostup_sim_stop; rm -rf "${work}"' EXIT

# The controller's own environment is one of the ways in: the first play relies on it alone.
export HOSTUP_API_KEY="${secret_key}" HOSTUP_API_URL="${HOSTUP_SIM_URL}"
export HOSTUP_TEST_SECRET="${secret_key}"

out="${work}/stdout"
err="${work}/stderr"
rc=0
ansible-playbook -vvvv --diff -i inventory -e "hostup_sim_url=${HOSTUP_SIM_URL}" "$@" secrets.yml \
    >"${out}" 2>"${err}" || rc=$?
grep -A1 'PLAY RECAP' "${out}" || true
if grep -n -F -e "${secret_key}" -e "${secret_key:3}" -e "${secret_key%????}" "${out}" "${err}"; then
    echo "secrets: the API key (or part of it) appears in the output above" >&2
    exit 1
fi
if [ "${rc}" -ne 0 ]; then
    cat "${out}" "${err}"
    exit 1
fi
# The echoes really happened (and were masked), in the output as well as in the results.
[ "$(grep -c -F '********' "${out}")" -ge 8 ] || { echo "secrets: too few masked echoes in the output" >&2; exit 1; }
grep -qE '^localhost +: ok=[0-9]+ +changed=[0-9]+ +unreachable=0 +failed=0 +skipped=[0-9]+ +rescued=[0-9]+ ' "${out}"
