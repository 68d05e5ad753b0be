# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Runs hostup.cloud.hostup_port25_info on the controller (see plugin_utils/_action.py for why)."""

from __future__ import annotations

from ansible_collections.hostup.cloud.plugins.modules import hostup_port25_info
from ansible_collections.hostup.cloud.plugins.plugin_utils._action import HostupAction


class ActionModule(HostupAction):
    INTERFACE = hostup_port25_info.INTERFACE
