#!/usr/bin/env bash
# The modules run on the controller (action plugins): a task's `environment:` must still supply the
# HOSTUP_* fallbacks and proxy variables to that task's requests, and to no other task's.
set -euxo pipefail

# shellcheck source=../setup_hostup_simulator/simulator.sh
source ../setup_hostup_simulator/simulator.sh
hostup_sim_start

# Nothing from the caller's environment may leak into the test.
unset HOSTUP_API_KEY HOSTUP_API_URL HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy NO_PROXY no_proxy

# A loopback port nobody listens on: a request sent through a proxy there fails with a proxy error.
dead_proxy_port=$("${HOSTUP_SIM_PYTHON}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

ansible-playbook -i inventory -e "hostup_sim_url=${HOSTUP_SIM_URL}" \
    -e "dead_proxy=http://127.0.0.1:${dead_proxy_port}" -e "closed_https_url=https://127.0.0.1:${dead_proxy_port}" \
    environment.yml "$@"
