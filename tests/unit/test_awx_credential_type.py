# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The AWX credential type in docs/awx: its three files agree, and its injectors never hand a job an empty URL.

AWX renders each injector template with Jinja2's immutable sandbox over the credential's stored inputs; a
field the user left blank is either stored as "" or not stored at all (then the template sees an undefined
name, which renders as ""). The tests render the templates the same way.
"""

from __future__ import annotations

import json
import pathlib

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

AWX_DIR = pathlib.Path(__file__).resolve().parents[2] / "docs" / "awx"
DEFAULT_URL = "https://cloud.hostup.se"
KEY = "sim-credential-key"


def load_yaml(name):
    with open(AWX_DIR / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_json():
    with open(AWX_DIR / "credential_type.json", encoding="utf-8") as handle:
        return json.load(handle)


def inject(inputs):
    """The environment AWX gives a job for a credential with these stored inputs."""
    env = ImmutableSandboxedEnvironment()
    injectors = load_yaml("credential_type_injectors.yml")
    return {name: env.from_string(template).render(**inputs) for name, template in injectors["env"].items()}


def test_json_is_the_inputs_and_injectors_yaml():
    definition = load_json()
    assert definition["inputs"] == load_yaml("credential_type_inputs.yml")
    assert definition["injectors"] == load_yaml("credential_type_injectors.yml")
    assert definition["kind"] == "cloud"
    assert set(definition) == {"name", "description", "kind", "inputs", "injectors"}


def test_url_field_defaults_to_hostup():
    fields = {field["id"]: field for field in load_yaml("credential_type_inputs.yml")["fields"]}
    assert fields["api_url"]["default"] == DEFAULT_URL
    assert fields["api_key"]["secret"] is True
    assert load_yaml("credential_type_inputs.yml")["required"] == ["api_key"]


def test_injects_exactly_the_key_and_url_the_collection_reads():
    assert inject({"api_key": KEY, "api_url": "http://127.0.0.1:8025"}) == {
        "HOSTUP_API_KEY": KEY,
        "HOSTUP_API_URL": "http://127.0.0.1:8025",
    }


@pytest.mark.parametrize(
    "inputs",
    [
        pytest.param({"api_key": KEY, "api_url": ""}, id="url-stored-blank"),
        pytest.param({"api_key": KEY, "api_url": "   "}, id="url-stored-spaces"),
        pytest.param({"api_key": KEY}, id="url-not-stored"),
        pytest.param({"api_key": KEY, "api_url": None}, id="url-stored-null"),
    ],
)
def test_blank_url_injects_the_default_never_an_empty_string(inputs):
    injected = inject(inputs)
    # What an AWX job's env/envvars would hold: HOSTUP_API_URL: "" must not be among it.
    assert injected["HOSTUP_API_URL"] == DEFAULT_URL
    assert injected["HOSTUP_API_KEY"] == KEY
    assert "" not in injected.values()
