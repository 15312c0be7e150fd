"""Reading a reviewed extraction back (extract/reviewed.py): what `extract --json` printed reads
back into the same summary, and any JSON at all either reads or fails as one InputError line,
never another exception (it is what a client POSTs to /api/v1/extract/store)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from threatscope.errors import InputError
from threatscope.extract.document import extract_file
from threatscope.extract.reviewed import reviewed_bundle, reviewed_extraction

REPORT = (
    "The actor exploited CVE-2023-23397, then reached 198.51.100.23 and update-check.example.net; "
    "a dropper with SHA-256 " + "ab" * 32 + " wrote C:\\\\Users\\\\Public\\\\svc.exe. T1566.001.\n"
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = (
    "file",
    "sha256",
    "characters",
    "iocs",
    "cves",
    "techniques",
    "actors",
    "malware",
    "tools",
    "countries",
    "sectors",
    "stated_nexus",
    "technique_model",
    "prose_analysed",
)


def test_a_summary_reads_back_into_itself(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_text(REPORT)
    summary = extract_file(path, None).summary()
    assert len(summary["iocs"]) >= 3
    again = reviewed_extraction(summary).summary()
    assert again == summary
    bundle = reviewed_bundle(reviewed_extraction(summary), None)
    assert bundle["objects"][0]["type"] == "report"


def _valid_summary() -> dict[str, Any]:
    return {
        "file": "r.txt",
        "sha256": "",
        "characters": 10,
        "iocs": [
            {
                "type": "ipv4",
                "value": "198.51.100.23",
                "raw": "198.51.100.23",
                "start": 0,
                "warninglists": [],
            }
        ],
        "cves": ["CVE-2023-23397"],
        "techniques": [],
        "actors": [],
        "malware": [],
        "tools": [],
        "countries": [],
        "sectors": [],
        "stated_nexus": [],
    }


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_any_value_in_any_field_reads_or_is_one_input_error(field: str, value: Any) -> None:
    summary = {**_valid_summary(), field: value}
    try:
        reviewed_bundle(reviewed_extraction(summary), None)
    except InputError as error:
        assert "\n" not in str(error)
        assert str(error).startswith("<reviewed extraction>")


@settings(max_examples=200, deadline=None)
@given(
    ioc=st.dictionaries(
        st.sampled_from(["type", "value", "raw", "start", "warninglists"]), json_values, max_size=5
    )
)
def test_any_ioc_reads_or_is_one_input_error(ioc: dict[str, Any]) -> None:
    try:
        reviewed_bundle(reviewed_extraction({**_valid_summary(), "iocs": [ioc]}), None)
    except InputError as error:
        assert str(error).startswith("<reviewed extraction>: iocs[0]: ")


@given(document=json_values)
def test_any_json_document_reads_or_is_one_input_error(document: Any) -> None:
    with contextlib.suppress(InputError):
        reviewed_extraction(document)
