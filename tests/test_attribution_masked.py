"""Attribution from masked report text (issue 12, item 5): the masking, the evaluation on the
shared AnnoCTR reports, and `eval attribution --split`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from conftest import shared_file
from threatscope.attribution.masked_eval import group_links, mask_report
from threatscope.attribution.masking import MASK, actor_names, leftover_names, mask_names
from threatscope.cli import app
from threatscope.extract.entities import build_gazetteer
from threatscope.store import open_store

APT28 = {"APT28", "Fancy Bear", "Sofacy"}


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


# -- masking -----------------------------------------------------------------------------------


def test_every_alias_is_masked_whatever_its_case() -> None:
    text = "APT28, also called fancy bear or SOFACY, struck again."
    masked, count = mask_names(text, APT28)
    assert masked == f"{MASK}, also called {MASK} or {MASK}, struck again."
    assert count == 3


def test_only_whole_words_are_masked() -> None:
    masked, count = mask_names("APT28 is not APT280, XAPT28 nor APT28x; APT28's tools", APT28)
    assert masked == f"{MASK} is not APT280, XAPT28 nor APT28x; {MASK}'s tools"
    assert count == 2


def test_a_name_broken_over_a_line_is_masked() -> None:
    masked, _ = mask_names("reported by Fancy\n  Bear operators", APT28)
    assert masked == f"reported by {MASK} operators"


def test_the_article_goes_with_the_name_and_a_sentence_keeps_its_capital() -> None:
    masked, count = mask_names("The Sofacy group hit the APT28 targets.", APT28)
    assert masked == "The threat actor group hit the threat actor targets."
    assert count == 2


def test_the_longest_name_wins() -> None:
    masked, _ = mask_names("Lazarus Group and Lazarus", {"Lazarus", "Lazarus Group"})
    assert masked == f"{MASK} and {MASK}"


def test_leftover_names_are_reported_as_written() -> None:
    assert leftover_names("apt28 and Fancy Bear and APT280", APT28) == ["Fancy Bear", "apt28"]
    assert leftover_names(f"{MASK} and APT280", APT28) == []
    # The mask's own words are not a name left behind.
    assert leftover_names(f"{MASK} came back", {"Threat"}) == []


_WORD = st.text(alphabet="abcAB01 -.", min_size=1, max_size=8)


@given(names=st.sets(_WORD, min_size=1, max_size=4), words=st.lists(_WORD, max_size=12))
@example(names={"A", "."}, words=["A."])  # a punctuation "name" beside a masked one (found)
def test_no_name_survives_masking(names: set[str], words: list[str]) -> None:
    text = " ".join(w for pair in zip(words, [*names] * 12, strict=False) for w in pair)
    masked, _ = mask_names(text, names)
    assert leftover_names(masked, names) == []


# -- on the knowledge base ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory, enterprise_path: Path, misp_path: Path) -> Path:
    db = tmp_path_factory.mktemp("masked") / "kb.db"
    assert run(db, "import", "attack", str(enterprise_path)).exit_code == 0
    assert run(db, "import", "misp-galaxy", str(misp_path)).exit_code == 0
    return db


def _actor_of(store: Any, attack_id: str) -> str:
    return str(
        store.analytics()
        .execute(
            "SELECT m.actor_id FROM external_ids e JOIN actor_members m"
            " ON m.object_id = e.object_id WHERE e.external_id = ?",
            (attack_id,),
        )
        .fetchone()[0]
    )


def test_an_actor_s_names_come_from_every_source_resolved_into_it(kb: Path) -> None:
    store = open_store(kb, create=False, read_only=True)
    names = actor_names(store, {_actor_of(store, "G0007")})
    # ATT&CK name, ATT&CK alias, MISP synonyms, the ATT&CK id.
    assert {"APT28", "Sofacy", "Fancy Bear", "Sednit", "STRONTIUM", "G0007"} <= names
    assert "APT29" not in names


def test_what_the_gazetteer_still_reads_as_the_actor_is_masked_too(kb: Path) -> None:
    store = open_store(kb, create=False, read_only=True)
    actor = _actor_of(store, "G0007")
    text = "Analysts tie APT-28 to the intrusion; APT 28 denied nothing. APT29 was not there."
    masked, count = mask_report(text, {"APT28"}, build_gazetteer(store), {actor}, "report.txt")
    assert masked == (
        f"Analysts tie {MASK} to the intrusion; {MASK} denied nothing. APT29 was not there."
    )
    assert count == 2


def test_group_links_take_the_annotated_group_mentions_only() -> None:
    path = shared_file(
        "text/annoctr/dev/intel471_2021-05-14_darkside-ransomware-shut-down-revil.links.jsonl"
    )
    # REvil's description names GOLD SOUTHFIELD (G0115), but no mention is linked to a group.
    assert "G0115" in path.read_text("utf-8")
    assert group_links(path).top == set()


def test_a_broken_links_line_is_an_input_error(tmp_path: Path) -> None:
    from threatscope.errors import InputError

    path = tmp_path / "x.links.jsonl"
    path.write_text('{"label_link": "https://attack.mitre.org/groups/G0007"}\n{oops\n', "utf-8")
    with pytest.raises(InputError, match=r"x\.links\.jsonl: line 2: not JSON"):
        group_links(path)


# -- the evaluation, through the CLI -----------------------------------------------------------


@pytest.fixture(scope="module")
def masked_eval(kb: Path) -> dict[str, Any]:
    shared_file("text/annoctr/dev")
    result = run(kb, "eval", "attribution", "--split", "all", "--json")
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def test_the_qualifying_reports_and_the_masking_are_counted(masked_eval: dict[str, Any]) -> None:
    dev, train = masked_eval["splits"]["dev"], masked_eval["splits"]["train"]
    assert (dev["reports_read"], train["reports_read"]) == (16, 70)
    assert (dev["reports"], train["reports"]) == (7, 25)
    assert (dev["reports_with_nexus"], train["reports_with_nexus"]) == (6, 22)
    assert (dev["replacements"], train["replacements"]) == (68, 329)
    assert masked_eval["technique_model"] == "explicit ATT&CK ids only"


def test_the_json_holds_figures_baselines_and_cases(masked_eval: dict[str, Any]) -> None:
    assert masked_eval["dataset"] == "annoctr-masked"
    dev = masked_eval["splits"]["dev"]
    for key in ("top1", "top3", "nexus"):
        assert 0.0 <= dev[key] <= 1.0
    assert dev["top1"] <= dev["top3"]
    assert set(dev["baselines"]) == {"jaccard", "most_techniques", "majority_nexus", "chance"}
    case = dev["cases"][0]
    assert {"report", "truth", "predicted", "top1", "top3", "nexus", "replacements"} <= set(case)
    assert sum(c["top1"] for c in dev["cases"]) == round(dev["top1"] * dev["reports"])
    # The truth actor's names are gone: the report never names it as its attribution.
    for split in masked_eval["splits"].values():
        for case in split["cases"]:
            assert not set(case["truth"]) & set(case["named_actors"])


def test_the_split_is_checked(kb: Path) -> None:
    result = run(kb, "eval", "attribution", "--split", "test")
    assert result.exit_code == 2
    assert "unknown split 'test'; known: dev, train, all" in result.output
    result = run(kb, "eval", "attribution", "--dataset", "attack-groups", "--split", "dev")
    assert result.exit_code == 2
    assert "--split applies to --dataset annoctr-masked only" in result.output


def test_the_plain_output_has_one_line_per_split(kb: Path) -> None:
    shared_file("text/annoctr/dev")
    result = run(kb, "eval", "attribution", "--split", "dev")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("dev: 7 of 16 reports (68 names masked), top-1 ")
    assert lines[-1] == "technique model: explicit ATT&CK ids only"


# -- what the text says of the actor's origin --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("The campaign is run by a China-based group.", ["CN"]),
        ("Russian state-sponsored hackers breached the network.", ["RU"]),
        ("TA453, an Iranian - state aligned actor, posed as scholars.", ["IR"]),
        ("We assess the activity is linked to North Korea.", ["KP"]),
        ("Data of interest to the Iranian government was taken.", ["IR"]),
        ("Chinese APT groups and a Chinese threat actor", ["CN"]),
        # Victims, places and languages state no nexus.
        ("The actor targeted the Russian government and Chinese companies.", []),
        ("Chinese-speaking users in Taiwan received the lure.", []),
        ("Offices in Iran and Russia were hit.", []),
    ],
)
def test_the_stated_nexus_is_read_from_attribution_phrases_only(
    text: str, codes: list[str]
) -> None:
    from threatscope.extract.stated_nexus import stated_nexus

    assert [found["id"] for found in stated_nexus(text)] == codes


def test_the_most_stated_nexus_comes_first_with_its_phrases() -> None:
    from threatscope.extract.stated_nexus import stated_nexus

    found = stated_nexus("A Russian APT, or rather an Iran-linked one: Iranian hackers again.")
    assert [(f["id"], f["count"]) for f in found] == [("IR", 2), ("RU", 1)]
    assert [m["text"] for m in found[0]["mentions"]] == ["Iran-linked", "Iranian hackers"]


def _sector(code: str, count: int) -> dict[str, Any]:
    return {"id": code, "name": code, "count": count, "mentions": []}


def test_a_report_s_evidence_keeps_its_two_main_sectors_and_its_actor_s_country_is_no_victim() -> (
    None
):
    from threatscope.attribution.evidence import evidence_from_summary

    sentence = "Chinese state-sponsored actors targeted organisations in China and Japan."
    mention = {"text": "China", "sentence": sentence}
    summary = {
        "sectors": [_sector("energy", 9), _sector("government", 4), _sector("healthcare", 1)],
        "countries": [
            {"id": "CN", "mentions": [mention]},
            {"id": "JP", "mentions": [{"text": "Japan", "sentence": sentence}]},
        ],
        "stated_nexus": [{"id": "CN", "count": 1}],
    }
    evidence = evidence_from_summary(summary)
    assert evidence.sectors == ["energy", "government"]
    assert evidence.victim_countries == ["JP"]
    assert evidence.stated_nexus == {"CN": 1}


def test_a_stated_nexus_moves_attribution_towards_it(kb: Path, tmp_path: Path) -> None:
    plain = "The intruders used Cobalt Strike and Mimikatz against a ministry."
    path = tmp_path / "report.txt"
    shares = {}
    for name, text in (("plain", plain), ("stated", plain + " They are an Iran-based group.")):
        path.write_text(text, encoding="utf-8")
        result = run(kb, "attribute", "--text", str(path), "--json")
        assert result.exit_code == 0, result.output
        answer = orjson.loads(result.stdout)
        shares[name] = {n["nexus"]: n["probability"] for n in answer["nexus"]}
    assert answer["evidence_used"]["stated_nexus"] == ["IR"]
    assert max(shares["stated"], key=shares["stated"].get) == "IR"
    assert shares["stated"]["IR"] > 5 * shares["plain"].get("IR", 0.0)
    top = answer["candidates"][0]
    assert top["nexus"] == "IR"
    assert any(e["kind"] == "stated_nexus" and e["value"] == "Iran" for e in top["evidence"])


def test_on_masked_reports_the_nexus_beats_the_majority_answer(
    masked_eval: dict[str, Any],
) -> None:
    # Train holds 22 reports whose actor has a nexus, 10 of them Russian: answering Russia
    # always is right 0.455 of the time. Before the stated nexus counted, so was ThreatScope.
    train = masked_eval["splits"]["train"]
    assert train["baselines"]["majority_nexus"] == {"nexus": "RU", "accuracy": 0.4545}
    assert train["nexus"] >= 0.7
    assert train["top1"] > train["baselines"]["jaccard"]["top1"]


_NEXUS_WORDS = ["Chinese", "Iran", " ", "-", "linked to", "based", "state", "sponsored", "APT"]


@given(st.lists(st.sampled_from([*_NEXUS_WORDS, "the", "\n", "x"])).map("".join))
def test_stated_nexus_mentions_are_spans_of_the_text(text: str) -> None:
    from threatscope.extract.stated_nexus import stated_nexus

    for found in stated_nexus(text):
        assert found["count"] >= len(found["mentions"]) >= 1
        for mention in found["mentions"]:
            assert text[mention["start"] : mention["end"]] == mention["text"]


def test_stated_nexus_stays_linear_on_runs_of_whitespace() -> None:
    import time

    from threatscope.extract.stated_nexus import stated_nexus

    hostile = ("Chinese " + " " * 20_000 + "- ") * 10
    started = time.perf_counter()
    assert stated_nexus(hostile) == []
    assert time.perf_counter() - started < 2.0
