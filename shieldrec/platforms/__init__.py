"""The platform side of the wall: adapters, the audited egress, query planning, fan-out,
credentials and the bundled demo platform.

    from shieldrec.platforms import plan_query, fan_out
    query = plan_query(instruction, intent, limit=30)        # the only thing that is sent
    result = await fan_out(store, profile, query, on_status=show)

Names load on first use, so importing this package stays cheap (no httpx until needed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shieldrec.lazy import lazy_exports

if TYPE_CHECKING:
    from shieldrec.platforms.base import Adapter, Query, Setting
    from shieldrec.platforms.credentials import (
        NoKeyringBackend,
        delete_token,
        get_token,
        set_token,
    )
    from shieldrec.platforms.demo import (
        DemoAdapter,
        ensure_demo_platform,
        uses_demo_platform,
    )
    from shieldrec.platforms.demo_server import DemoServer
    from shieldrec.platforms.egress import Egress, Limits
    from shieldrec.platforms.fanout import FanoutResult, fan_out, merge, run_fan_out
    from shieldrec.platforms.planning import plan_query
    from shieldrec.platforms.registry import available_adapters, build_adapter

_EXPORTS = {
    "Adapter": "base",
    "Query": "base",
    "Setting": "base",
    "NoKeyringBackend": "credentials",
    "delete_token": "credentials",
    "get_token": "credentials",
    "set_token": "credentials",
    "DemoAdapter": "demo",
    "ensure_demo_platform": "demo",
    "uses_demo_platform": "demo",
    "DemoServer": "demo_server",
    "Egress": "egress",
    "Limits": "egress",
    "FanoutResult": "fanout",
    "fan_out": "fanout",
    "merge": "fanout",
    "run_fan_out": "fanout",
    "plan_query": "planning",
    "available_adapters": "registry",
    "build_adapter": "registry",
}

__all__ = [
    "Adapter",
    "DemoAdapter",
    "DemoServer",
    "Egress",
    "FanoutResult",
    "Limits",
    "NoKeyringBackend",
    "Query",
    "Setting",
    "available_adapters",
    "build_adapter",
    "delete_token",
    "ensure_demo_platform",
    "fan_out",
    "get_token",
    "merge",
    "plan_query",
    "run_fan_out",
    "set_token",
    "uses_demo_platform",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
