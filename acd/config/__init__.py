"""YAML dial plans: models, loader and checker (SPEC N1-N7, S3, S4, P2, P4).

``load(path)`` returns a frozen ``Dialplan`` or raises ``ConfigError`` whose
``issues`` name file:line:col, the key path and what is wrong.
"""

from acd.config.announcements import Announcement
from acd.config.check import check_main
from acd.config.dialplan import Dialplan
from acd.config.errors import ConfigError, ConfigIssue
from acd.config.loader import load
from acd.config.menus import CollectDigits, Menu
from acd.config.numbers import Number
from acd.config.queues import CallbackSettings, Member, Queue
from acd.config.schedules import Schedule
from acd.config.schema import export_schema
from acd.config.server import FeatureCodes, Server
from acd.config.trunks import NumberRules, Trunk, TrunkOutbound, TrunkRegistration
from acd.config.types import Destination
from acd.config.users import Device, User

__all__ = [
    "Announcement",
    "CallbackSettings",
    "CollectDigits",
    "ConfigError",
    "ConfigIssue",
    "Destination",
    "Device",
    "Dialplan",
    "FeatureCodes",
    "Member",
    "Menu",
    "Number",
    "NumberRules",
    "Queue",
    "Schedule",
    "Server",
    "Trunk",
    "TrunkOutbound",
    "TrunkRegistration",
    "User",
    "check_main",
    "export_schema",
    "load",
]
