"""The method registry: each method module registers its class here by name."""
from __future__ import annotations

from ..registry import Registry
from .base import Method

METHODS: Registry[Method] = Registry("method")
