"""Reading the services' settings (nameko's config, else the environment)."""
from __future__ import annotations

import os
from typing import Any, Mapping


def env_flag(config: Mapping[str, Any], name: str, default: bool) -> bool:
    value = config.get(name, os.environ.get(name))
    if value is None:
        return default
    return str(value).strip().lower() in {"1", "true", "yes", "y", "on"}
