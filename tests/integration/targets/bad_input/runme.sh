#!/usr/bin/env bash
# Bad input to both modules, the info modules and the role against the HostUp API simulator:
# bad_input.yml checks every case's message, that nothing reached the simulator, and the text
# that must round-trip. Here: no traceback, whatever the input.
set -euo pipefail

# shellcheck source=../setup_hostup_simulator/simulator.sh
source ../setup_hostup_simulator/simulator.sh
hostup_sim_start

out="${HOSTUP_SIM_DIR}/output"
ansible-playbook -i inventory -e "hostup_sim_url=${HOSTUP_SIM_URL}" "$@" bad_input.yml >"${out}" 2>&1 || {
    cat "${out}"
    exit 1
}
grep -A1 'PLAY RECAP' "${out}"
if grep -n -e Traceback -e 'Exception:' "${out}"; then
    echo "bad_input: a traceback reached the output" >&2
    exit 1
fi
# Seven rescued failures; the only skipped tasks are the role's read of the port 25 state, once in each
# of the two role cases (blank reason, a path as VPS id): bad input sends nothing, that read included.
grep -qE '^localhost +: ok=[0-9]+ +changed=1 +unreachable=0 +failed=0 +skipped=2 +rescued=7 ' "${out}"
[ "$(grep -A1 -F 'TASK [hostup.cloud.port25_unblock : Read the port 25 state of the account]' "${out}" |
    grep -c '^skipping: \[localhost\]')" -eq 2 ]
