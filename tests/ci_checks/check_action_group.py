#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check that the `all` action group and the modules' documentation agree.

Fails when:
- `action_groups.all` in meta/runtime.yml misses a module of plugins/modules/, lists a
  module that does not exist (extra or misspelled), lists one twice, or names another
  collection's module. Entries may be short (`hostup_ticket_state`) or fully qualified
  (`hostup.cloud.hostup_ticket_state`).
- a module's DOCUMENTATION does not extend the shared `hostup.cloud.api` doc fragment,
  or does not declare the attributes check_mode, diff_mode, idempotent and action_group
  (directly or through one of this collection's doc fragments), or its action_group
  attribute does not name `hostup.cloud.all`.

DOCUMENTATION is read with ast and yaml: no module is imported.

Usage: check_action_group.py [COLLECTION_ROOT]   (default: this checkout)
"""

from __future__ import annotations

import ast
import difflib
import pathlib
import sys

import yaml

COLLECTION = "hostup.cloud"
GROUP = "all"
SHARED_FRAGMENT = COLLECTION + ".api"
REQUIRED_ATTRIBUTES = ("check_mode", "diff_mode", "idempotent", "action_group")
ATTRIBUTE_SUPPORT_VALUES = ("full", "partial", "none", "N/A")


def string_constant(path, class_name, variable):
    """Return the string assigned to `variable` at module level (class_name None) or in a class."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    body = tree.body
    if class_name is not None:
        classes = [node for node in body if isinstance(node, ast.ClassDef) and node.name == class_name]
        if not classes:
            return None
        body = classes[0].body
    known = {}
    for node in body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            known[node.targets[0].id] = _string_of(node.value, known)
    return known.get(variable)


def _string_of(node, known):
    """A string literal, an earlier string of the same body, or a `+` of such (a fragment built from another)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return known.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _string_of(node.left, known), _string_of(node.right, known)
        return None if left is None or right is None else left + right
    return None


def load_yaml_doc(text, where, problems):
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problems.append("%s: is not valid YAML: %s" % (where, exc))
        return None
    if not isinstance(doc, dict):
        problems.append("%s: is not a YAML mapping" % where)
        return None
    return doc


def group_entries(root, problems):
    """Return the short module names listed in the action group, reporting bad entries."""
    runtime_path = root / "meta" / "runtime.yml"
    runtime = load_yaml_doc(runtime_path.read_text(encoding="utf-8"), "meta/runtime.yml", problems)
    if runtime is None:
        return []
    group = (runtime.get("action_groups") or {}).get(GROUP)
    if not isinstance(group, list):
        problems.append("meta/runtime.yml: action_groups.%s is missing or not a list" % GROUP)
        return []

    names = []
    for entry in group:
        if isinstance(entry, dict) and set(entry) == {"metadata"}:
            continue  # extend_group metadata, not a module
        if not isinstance(entry, str):
            problems.append("meta/runtime.yml: action_groups.%s has a non-string entry %r" % (GROUP, entry))
            continue
        if "." in entry:
            namespace_name, _sep, short = entry.rpartition(".")
            if namespace_name != COLLECTION:
                problems.append(
                    "meta/runtime.yml: action_groups.%s entry %r is not a %s module" % (GROUP, entry, COLLECTION)
                )
                continue
        else:
            short = entry
        if short in names:
            problems.append("meta/runtime.yml: action_groups.%s lists %r more than once" % (GROUP, short))
            continue
        names.append(short)
    return names


def fragment_attributes(root, fragment, problems, where):
    """Return the `attributes` that one of this collection's doc fragments contributes."""
    prefix = COLLECTION + "."
    if not fragment.startswith(prefix):
        return {}
    name, _sep, variable = fragment[len(prefix):].partition(".")
    path = root / "plugins" / "doc_fragments" / (name + ".py")
    if not path.is_file():
        problems.append("%s: doc fragment %s has no file plugins/doc_fragments/%s.py" % (where, fragment, name))
        return {}
    text = string_constant(path, "ModuleDocFragment", variable.upper() if variable else "DOCUMENTATION")
    if text is None:
        problems.append("%s: doc fragment %s has no such string in %s" % (where, fragment, path.name))
        return {}
    doc = load_yaml_doc(text, "%s (%s)" % (where, fragment), problems)
    return (doc or {}).get("attributes") or {}


def check_module(root, path, problems):
    where = path.relative_to(root).as_posix()
    text = string_constant(path, None, "DOCUMENTATION")
    if text is None:
        problems.append("%s: no DOCUMENTATION string" % where)
        return
    doc = load_yaml_doc(text, where + " DOCUMENTATION", problems)
    if doc is None:
        return

    if doc.get("module") != path.stem:
        problems.append("%s: DOCUMENTATION names module %r, the file is %r" % (where, doc.get("module"), path.stem))

    fragments = doc.get("extends_documentation_fragment") or []
    if isinstance(fragments, str):
        fragments = [fragments]
    if not any(f == SHARED_FRAGMENT or f.startswith(SHARED_FRAGMENT + ".") for f in fragments):
        problems.append("%s: extends_documentation_fragment does not include %s" % (where, SHARED_FRAGMENT))

    # As Ansible merges them: per attribute, the module's keys over its fragments' keys.
    attributes = {}
    for source in [fragment_attributes(root, f, problems, where) for f in fragments] + [doc.get("attributes") or {}]:
        for name, value in source.items():
            if isinstance(value, dict) and isinstance(attributes.get(name), dict):
                attributes[name] = dict(attributes[name], **value)
            else:
                attributes[name] = value
    for name in REQUIRED_ATTRIBUTES:
        attribute = attributes.get(name)
        if not isinstance(attribute, dict) or attribute.get("support") not in ATTRIBUTE_SUPPORT_VALUES:
            problems.append(
                "%s: attributes.%s is missing or has no support (one of %s)"
                % (where, name, ", ".join(ATTRIBUTE_SUPPORT_VALUES))
            )
    action_group = attributes.get("action_group")
    if isinstance(action_group, dict) and "%s.%s" % (COLLECTION, GROUP) not in (action_group.get("membership") or []):
        problems.append("%s: attributes.action_group.membership does not list %s.%s" % (where, COLLECTION, GROUP))


def check(root):
    """Return the list of problems found in the collection at `root`, and the module names."""
    problems = []
    module_paths = sorted(p for p in (root / "plugins" / "modules").glob("*.py") if p.name != "__init__.py")
    modules = [p.stem for p in module_paths]
    listed = group_entries(root, problems)

    for name in sorted(set(modules) - set(listed)):
        problems.append("meta/runtime.yml: action_groups.%s misses module %s" % (GROUP, name))
    for name in sorted(set(listed) - set(modules)):
        close = difflib.get_close_matches(name, modules, n=1, cutoff=0.8)
        hint = " (misspelled %s?)" % close[0] if close else ""
        problems.append(
            "meta/runtime.yml: action_groups.%s lists %s, which is not in plugins/modules/%s" % (GROUP, name, hint)
        )
    for path in module_paths:
        check_module(root, path, problems)
    return problems, modules


def main(argv):
    root = pathlib.Path(argv[1] if len(argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
    problems, modules = check(root)
    for problem in problems:
        print(problem)
    if problems:
        print("action group check: %d problem(s)" % len(problems))
        return 1
    print("action group check: OK, %d module(s) in group %s.%s: %s" % (len(modules), COLLECTION, GROUP, ", ".join(modules)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
