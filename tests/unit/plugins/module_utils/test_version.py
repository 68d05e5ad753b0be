# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection version in code (sent in the User-Agent) is the one galaxy.yml publishes."""

from __future__ import annotations

import os

import yaml

from ansible_collections.hostup.cloud.plugins.module_utils import _version
from ansible_collections.hostup.cloud.plugins.module_utils._connection import USER_AGENT

# tests/unit/plugins/module_utils/ -> the collection root
COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def galaxy_version():
    with open(os.path.join(COLLECTION_ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["version"]


def test_collection_version_equals_galaxy_yml():
    assert isinstance(_version.COLLECTION_VERSION, str)
    assert _version.COLLECTION_VERSION == galaxy_version()


def test_the_user_agent_carries_that_version():
    assert USER_AGENT.startswith("hostup.cloud/%s ansible-core/" % galaxy_version())
