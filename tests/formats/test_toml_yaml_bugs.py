"""Minimal reproducers of TOML / YAML editor bugs found while writing the golden tests.

Bugs fixed in src since are plain regression tests. Open ones are marked xfail(strict=True):
when the editor is fixed the test passes, strict turns that into a failure, and the mark must go.
The golden tests (test_golden.py) show the same cases on realistic files.
"""

from __future__ import annotations

import tomllib

import pytest

from dot_setup.formats.base import ParseFailure, ShapeFailure
from dot_setup.formats.toml_format import TomlFormat
from dot_setup.formats.yaml_format import YamlFormat

TOML = TomlFormat()
YAML = YamlFormat()
ENTRY = {"url": "https://app.getdot.ai/ai/mcp"}

# --- regressions (fixed) ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["mcp_servers = []\n", 'mcp_servers = [{name = "x"}]\n'])
def test_toml_list_container_as_inline_array(text: str) -> None:
    """Was: a table appended inside the brackets, 'mcp_servers = [name = "dot"\\n...]': not TOML."""
    out = TOML.set_entry(text, ("mcp_servers",), "name", "dot", ENTRY)
    names = [item["name"] for item in tomllib.loads(out)["mcp_servers"]]
    assert names[-1] == "dot"
    assert out.startswith("mcp_servers = [")


@pytest.mark.parametrize("text", ["mcp_servers = {}\n", 'mcp_servers = { x = { url = "u" } }\n'])
def test_toml_container_as_inline_table(text: str) -> None:
    """Was: tomlkit's ValueError('Inline tables cannot contain a table'), neither a
    ParseFailure nor a ShapeFailure, so the writer could not report it cleanly."""
    try:
        out = TOML.set_entry(text, ("mcp_servers",), "", "dot", ENTRY)
    except (ParseFailure, ShapeFailure):
        return  # refusing cleanly would be fine too
    assert tomllib.loads(out)["mcp_servers"]["dot"] == ENTRY


def test_toml_parse_failure_column_is_one_based() -> None:
    """Was: tomlkit's 0-based ParseError.col passed on as ParseFailure's 1-based column."""
    with pytest.raises(ParseFailure) as info:
        TOML.set_entry("a = 1 x\n", ("mcp_servers",), "", "dot", ENTRY)
    assert (info.value.line, info.value.col) == (1, 7)  # the "x"


def test_toml_crlf_file_stays_crlf() -> None:
    """Was: the appended table written with LF into a CRLF file."""
    out = TOML.set_entry('model = "m"\r\n', ("mcp_servers",), "", "dot", ENTRY)
    assert out.count("\n") == out.count("\r\n")


def test_yaml_crlf_file_stays_crlf() -> None:
    """Was: ruamel re-emitted every line of the file with LF."""
    out = YAML.set_entry("a: 1\r\n", ("extensions",), "", "dot", ENTRY)
    assert out.count("\n") == out.count("\r\n")


def test_yaml_bom_is_kept() -> None:
    """Was: ruamel dropped the UTF-8 byte order mark."""
    out = YAML.set_entry("\ufeffa: 1\n", ("extensions",), "", "dot", ENTRY)
    assert out.startswith("\ufeffa: 1\n")


def test_yaml_escapes_outside_the_entry_are_kept() -> None:
    """Was: escapes in a double-quoted scalar outside the entry were decoded ("café")."""
    text = 'x: "caf\\u00e9"\nextensions:\n  a: 1\nb: 2\n'
    out = YAML.set_entry(text, ("extensions",), "", "dot", ENTRY)
    assert (
        out == 'x: "caf\\u00e9"\nextensions:\n  a: 1\n  dot:\n    url: ' + ENTRY["url"] + "\nb: 2\n"
    )


def test_toml_crlf_set_then_remove_restores_bytes() -> None:
    """Was: remove_entry left a blank CRLF line (the trailing-blank-line check looked for LF)."""
    text = 'model = "m"\r\n'
    out = TOML.set_entry(text, ("mcp_servers",), "", "dot", ENTRY)
    assert TOML.remove_entry(out, ("mcp_servers",), "", "dot") == text


def test_yaml_whitespace_only_file_is_idempotent() -> None:
    """Was: the entry went above the file's blank lines, and the next set_entry dropped them."""
    once = YAML.set_entry("  \n\n", ("extensions",), "", "dot", ENTRY)
    assert YAML.set_entry(once, ("extensions",), "", "dot", ENTRY) == once


# --- fixed since the suite was written (were xfail) --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "container", "list_key", "comment"),
    [
        pytest.param(
            "extensions:\n  a: 1\n\n# next section\nother: 2\n",
            "extensions",
            "",
            "# next section\nother: 2\n",
            id="mapping-section-comment",
        ),
        pytest.param(
            "mcpServers:\n- name: a\n\n# next section\nother: 2\n",
            "mcpServers",
            "name",
            "# next section\nother: 2\n",
            id="list-section-comment",
        ),
        pytest.param(
            "extensions:\n  a: 1\n# the end\n", "extensions", "", "# the end\n", id="last-comment"
        ),
    ],
)
def test_yaml_comment_after_the_container_stays_after_the_new_entry(
    text: str, container: str, list_key: str, comment: str
) -> None:
    """Was: a comment line after the container's last entry belongs to that entry for ruamel,
    so the new entry was written below the comment, away from what it describes. Setting it
    again changes nothing, and removing it gives the input back (the comment stays)."""
    out = YAML.set_entry(text, (container,), list_key, "dot", ENTRY)
    assert out.endswith(comment)
    assert out.index("dot") < out.index(comment)
    assert YAML.set_entry(out, (container,), list_key, "dot", ENTRY) == out
    assert YAML.remove_entry(out, (container,), list_key, "dot") == text


def test_yaml_normalised_line_next_to_the_entry_keeps_the_rest() -> None:
    """Was: when the line just above the insertion point is one ruamel normalises (`a:  1`,
    two spaces), the splice gave up and used ruamel's whole output, so lines elsewhere changed
    too (the escape in b was decoded). Normalised lines between two unchanged ones are now
    matched by position."""
    text = 'extensions:\n  a:  1\nb: "caf\\u00e9"\n'
    out = YAML.set_entry(text, ("extensions",), "", "dot", ENTRY)
    assert out == "extensions:\n  a:  1\n  dot:\n    url: " + ENTRY["url"] + '\nb: "caf\\u00e9"\n'
    assert YAML.remove_entry(out, ("extensions",), "", "dot") == text


def test_yaml_update_keeps_a_comment_after_the_entry() -> None:
    """A new token for an entry that a comment follows: the comment stays (ruamel drops the
    comments of a map that is replaced whole, so the entry is changed in place)."""
    text = "extensions:\n  dot:\n    url: old  # the url\n# the end\n"
    out = YAML.set_entry(text, ("extensions",), "", "dot", ENTRY)
    assert out.startswith("extensions:\n  dot:\n    url: " + ENTRY["url"])
    assert out.endswith(" # the url\n# the end\n")
