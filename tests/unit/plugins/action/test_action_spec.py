# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every action plugin validates with the spec its module documents: names, types, defaults, choices,
aliases, required, env fallbacks and no_log agree with DOCUMENTATION (plus the shared fragment)."""

from __future__ import annotations

import importlib
import os

import pytest
import yaml

from ansible_collections.hostup.cloud.plugins.doc_fragments.api import ModuleDocFragment as ApiFragment

ACTION_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "action")
ACTIONS = sorted(name[:-3] for name in os.listdir(ACTION_DIR) if name.endswith(".py") and not name.startswith("_"))


def documented_options(module):
    options = dict(yaml.safe_load(ApiFragment.DOCUMENTATION)["options"])
    options.update(yaml.safe_load(module.DOCUMENTATION).get("options") or {})
    return options


def disagreements(spec, options):
    """Every way ``spec`` (an argument spec) and ``options`` (documented options) differ, as readable lines."""
    found = []
    for name in sorted(set(spec) - set(options)):
        found.append("%s: in the argument spec, not documented" % name)
    for name in sorted(set(options) - set(spec)):
        found.append("%s: documented, not in the argument spec" % name)
    for name in sorted(set(spec) & set(options)):
        arg, doc = spec[name], options[name]
        description = " ".join(doc.get("description") if isinstance(doc.get("description"), list)
                               else [doc.get("description") or ""])
        pairs = [
            ("type", arg.get("type", "str"), doc.get("type", "str")),
            ("required", bool(arg.get("required", False)), bool(doc.get("required", False))),
            ("default", arg.get("default"), doc.get("default")),
            ("choices", arg.get("choices"), doc.get("choices")),
            ("aliases", sorted(arg.get("aliases") or []), sorted(doc.get("aliases") or [])),
            ("elements", arg.get("elements"), doc.get("elements")),
        ]
        for field, in_spec, in_doc in pairs:
            if in_spec != in_doc:
                found.append("%s: %s is %r in the spec but %r in the docs" % (name, field, in_spec, in_doc))
        fallback = arg.get("fallback")
        for variable in (fallback[1] if fallback else []):
            if "E(%s)" % variable not in description:
                found.append("%s: falls back to %s, which the docs do not mention" % (name, variable))
        if arg.get("no_log") and "never appears" not in description:
            found.append("%s: is no_log but the docs do not say it is kept out of output" % name)
    return found


@pytest.mark.parametrize("name", ACTIONS)
def test_action_validates_with_the_documented_spec(name):
    action = importlib.import_module("ansible_collections.hostup.cloud.plugins.action.%s" % name)
    module = importlib.import_module("ansible_collections.hostup.cloud.plugins.modules.%s" % name)
    assert action.ActionModule.INTERFACE is module.INTERFACE
    spec = module.INTERFACE.argument_spec()
    assert disagreements(spec, documented_options(module)) == []


def test_every_module_has_an_action():
    modules_dir = os.path.join(ACTION_DIR, "..", "modules")
    modules = sorted(n[:-3] for n in os.listdir(modules_dir) if n.endswith(".py") and not n.startswith("_"))
    assert ACTIONS == modules


@pytest.mark.parametrize("side", ["spec", "docs"])
def test_an_option_on_one_side_only_is_caught(side):
    module = importlib.import_module("ansible_collections.hostup.cloud.plugins.modules.hostup_port25_request")
    spec = module.INTERFACE.argument_spec()
    options = documented_options(module)
    if side == "spec":
        spec["priority"] = dict(type="str")
    else:
        options["priority"] = dict(type="str", description="x")
    assert len(disagreements(spec, options)) == 1


def test_a_changed_default_or_fallback_is_caught():
    module = importlib.import_module("ansible_collections.hostup.cloud.plugins.modules.hostup_port25_request")
    spec = module.INTERFACE.argument_spec()
    spec["wait_timeout"] = dict(spec["wait_timeout"], default=60)
    spec["api_url"] = dict(spec["api_url"], fallback=(None, ["HOSTUP_ENDPOINT"]))
    problems = disagreements(spec, documented_options(module))
    assert any("wait_timeout: default" in p for p in problems)
    assert any("HOSTUP_ENDPOINT" in p for p in problems)
