"""The documentation is checked against the code, so it cannot drift: the configuration table
against `bridge.core.settings.OPTIONS`, the JSON Schemas against every shared sample, the README's
links and Mermaid diagram against the files and the syntax."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jsonschema
import pytest

from bridge.core.events import EVENT_KINDS
from bridge.core.settings import OPTIONS
from bridge.tools.samples import ALL_KINDS, form_body, sample_event
from tests.helpers import SAMPLE_KINDS, SAMPLES

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
SCHEMAS = DOCS / "schemas"


# --- docs/configuration.md -------------------------------------------------------------------------


def _config_rows() -> tuple[list[str], dict[str, dict[str, str]]]:
    """The settings table: its column names, and each row by environment variable."""
    lines = (DOCS / "configuration.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| environment variable"))
    columns = [c.strip() for c in lines[start].strip("|").split("|")]
    rows: dict[str, dict[str, str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == len(columns), f"row {line!r} has {len(cells)} cells, the table {len(columns)}"
        row = dict(zip(columns, cells, strict=True))
        rows[row["environment variable"].strip("`")] = row
    return columns, rows


def _documented_default(default: Any) -> str:
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"  # as TOML and the environment write it
    return f"`{default}`"


def test_configuration_table_has_the_columns_the_issue_asks_for() -> None:
    columns, _ = _config_rows()
    assert columns == ["environment variable", "TOML key", "type", "meaning", "default"]


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.key)
def test_every_setting_has_a_row_with_its_names_type_and_default(option: Any) -> None:
    _, rows = _config_rows()
    assert option.env in rows, f"docs/configuration.md has no row for {option.env}"
    row = rows[option.env]
    assert row["TOML key"] == f"`{option.key}`"
    assert row["type"] and row["meaning"]
    if option.default is None or option.default == "":
        assert row["default"] == "none" or row["default"].startswith("required"), row
    else:
        assert row["default"] == _documented_default(option.default), row


def test_no_row_for_a_setting_that_does_not_exist() -> None:
    _, rows = _config_rows()
    assert set(rows) - {o.env for o in OPTIONS} == set()


# --- docs/schemas ----------------------------------------------------------------------------------


def _schema(kind: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{kind}.schema.json").read_text())


def test_one_valid_draft_2020_12_schema_per_kind_and_nothing_else() -> None:
    names = {p.name for p in SCHEMAS.glob("*.schema.json")}
    assert names == {f"{k}.schema.json" for k in (*EVENT_KINDS, "validation")}
    for path in SCHEMAS.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)


def _sample_without_secret(name: str) -> dict[str, Any]:
    text = (SAMPLES / name).read_text()
    event = (
        json.loads(text) if name.endswith(".json") else dict(parse_qsl(text.strip(), keep_blank_values=True))
    )
    return {k: v for k, v in event.items() if k.lower() != "secretkey"}


@pytest.mark.parametrize("name", sorted(SAMPLE_KINDS))
def test_every_shared_sample_matches_its_kinds_schema(name: str) -> None:
    kind = SAMPLE_KINDS[name] or "validation"
    jsonschema.validate(_sample_without_secret(name), _schema(kind), cls=jsonschema.Draft202012Validator)


def test_every_shared_sample_is_checked() -> None:
    on_disk = {p.name for p in SAMPLES.iterdir() if p.suffix in (".json", ".form")}
    assert on_disk == set(SAMPLE_KINDS)


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
@pytest.mark.parametrize("kind", [k for k in ALL_KINDS])
def test_send_test_samples_match_their_kinds_schema(kind: str, form: bool) -> None:
    event = sample_event(kind, "secret")
    if form:
        event = dict(parse_qsl(form_body(event), keep_blank_values=True))
    event.pop("SecretKey")
    jsonschema.validate(event, _schema(kind), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize(
    ("kind", "event"),
    [
        ("delivered", {"Type": "Failed", "ServerId": 1}),
        ("click", {"Type": "Tracking", "TrackingType": 1, "ServerId": 1}),
        ("open", {"Type": "Tracking", "TrackingType": "click", "ServerId": 1}),
        ("queued", {"Type": "Queued", "ServerId": "thirty"}),
        ("failed", {"Type": "Failed", "ServerId": 1, "FailureCode": "5.1.1"}),
        ("deferred", {"Type": "Deferred"}),
        ("delivered", {"Type": "Delivered", "ServerId": 1, "SecretKey": "must never be in Kafka"}),
        ("unknown", {"ServerId": 1}),
    ],
)
def test_schemas_refuse_what_is_not_their_kind(kind: str, event: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(event, _schema(kind), cls=jsonschema.Draft202012Validator)


def test_schemas_accept_any_casing_of_type_and_extra_fields() -> None:
    event = {"Type": "DELIVERED", "ServerId": "30117", "SomethingNew": {"x": [1]}, "SubaccountId": ""}
    jsonschema.validate(event, _schema("delivered"), cls=jsonschema.Draft202012Validator)
    jsonschema.validate({"Type": "Sent", "ServerId": 1}, _schema("delivered"))


# --- README and docs ---------------------------------------------------------------------------------


def test_readme_and_docs_link_only_to_files_that_exist() -> None:
    for page in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


def test_readme_links_every_doc() -> None:
    readme = (ROOT / "README.md").read_text()
    for doc in DOCS.glob("*.md"):
        assert f"docs/{doc.name}" in readme, f"README.md does not link docs/{doc.name}"


@pytest.mark.parametrize("page", ["README.md", "docs/architecture.md"])
def test_mermaid_diagram_is_a_well_formed_flowchart(page: str) -> None:
    """Mermaid itself is a JavaScript tool; this checks the grammar the diagrams use: a
    `flowchart LR` header, then edges `ID[label] -- text --> ID[(label)]` with balanced brackets
    and no characters Mermaid treats as syntax inside a label, lone nodes, and `subgraph ID [title]`
    ... `end`."""
    text = (ROOT / page).read_text()
    blocks = re.findall(r"```mermaid\n(.*?)```", text, re.S)
    assert len(blocks) == 1
    lines = [line.strip() for line in blocks[0].strip().splitlines() if line.strip()]
    assert re.fullmatch(r"flowchart (LR|TD|TB|RL|BT)", lines[0])
    node = r"[A-Za-z][A-Za-z0-9_]*(?:\[[^\[\]()\"]+\]|\[\([^\[\]()\"]+\)\]|\(\[[^\[\]()\"]+\]\))?"
    edge = rf"{node}\s*(?:--\s*[^-<>\"]+?\s*-->|-->|-\.->|==>)\s*{node}"
    depth = 0
    for line in lines[1:]:
        if re.fullmatch(r"subgraph [A-Za-z][A-Za-z0-9_]* \[[^\[\]()\"]+\]", line):
            depth += 1
        elif line == "end":
            depth -= 1
            assert depth >= 0, "an `end` without its subgraph"
        else:
            assert re.fullmatch(edge, line) or re.fullmatch(node, line), (
                f"not a Mermaid flowchart edge: {line}"
            )
    assert depth == 0, "a subgraph without its `end`"
