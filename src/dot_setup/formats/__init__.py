"""Config file formats: an explicit registry from a profile's `format` to its handler."""

from __future__ import annotations

from dot_setup.formats.base import Format


def get_format(name: str) -> Format:
    # Imported on demand: TOML and YAML libraries load only for the files that need them.
    if name in ("json", "jsonc"):
        from dot_setup.formats.jsonc import JsonFormat

        return JsonFormat(comments=name == "jsonc")
    if name == "toml":
        from dot_setup.formats.toml_format import TomlFormat

        return TomlFormat()
    if name == "yaml":
        from dot_setup.formats.yaml_format import YamlFormat

        return YamlFormat()
    raise ValueError(f"unknown format {name!r}")
