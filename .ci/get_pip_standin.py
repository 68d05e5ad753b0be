"""Offline stand-in for the get-pip script that ansible-test downloads.

ansible-test builds its sanity venvs without pip and then fetches a pinned
get-pip script from a host this project's machines cannot reach. It looks for a
cached copy at ~/.ansible/test/cache/get_pip_<version>.py first; `.ci/venv.sh`
copies this file there. It bootstraps pip with the interpreter's own ensurepip,
then lets that pip install exactly what ansible-test asked for (e.g. pip==24.2)
from the package index.
"""

import subprocess
import sys

# get-pip.py options that plain `pip install` does not understand.
GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}

pip_args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install"] + pip_args)
