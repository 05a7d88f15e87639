"""Typed, validated stack configuration (``environments/Pulumi.<stack>.yaml``)."""

from stack_config.loader import engine_values, engine_values_from_yaml, load, load_file
from stack_config.model import StackConfig
from stack_config.parsing import ConfigError

__all__ = ["ConfigError", "StackConfig", "engine_values", "engine_values_from_yaml", "load", "load_file"]
