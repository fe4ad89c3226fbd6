"""Splicing a JSON file's bytes gives exactly the encoding of splicing its text."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from dot_setup.formats.jsonc import JsonFormat, _apply, splice_bytes

TEXT = st.text(alphabet=st.characters(min_codepoint=1, blacklist_categories=("Cs",)))


@given(
    before=st.dictionaries(TEXT, TEXT, max_size=6),
    after=st.dictionaries(TEXT, TEXT, max_size=6),
    value=TEXT,
    indent=st.sampled_from([None, 2, 4, "\t"]),
)
def test_splice_bytes_matches_text_splice(
    before: dict[str, str], after: dict[str, str], value: str, indent: int | str | None
) -> None:
    doc = {**before, "mcpServers": {"x": "é😀"}, **{f"z{k}": v for k, v in after.items()}}
    text = json.dumps(doc, indent=indent, ensure_ascii=False)
    fmt = JsonFormat(comments=False)
    base, edits = fmt.set_entry_edits(text, ("mcpServers",), "", "dot", {"url": value})
    assert base is text
    assert splice_bytes(text.encode(), text, edits) == _apply(text, edits).encode()
