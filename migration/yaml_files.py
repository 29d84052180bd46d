"""Parse the large YAML files the product reads several times per run.

The data dictionaries and the target schema are parsed by the run, the mapping checks, the
report and the lineage events. libyaml's parser, when PyYAML was built with it, reads them
about ten times faster than the pure Python one and builds the same values with the same safe
constructors.
"""

from __future__ import annotations

from typing import Any

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(data: str | bytes) -> Any:
    """Parse one YAML document with the safe constructors; raises yaml.YAMLError."""
    return yaml.load(data, Loader=SAFE_LOADER)
