"""The `citebot` command in real subprocesses: the --json contracts, index reports, exit codes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runner import run
from tests.conftest import make_service


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli-home")


def test_ask_json_builds_a_missing_index_first_and_follows_the_contract(home):
    result = run(["ask", "--json", "How long can a jail hold someone on an ICE detainer?"], home)
    assert result.returncode == 0, result.stderr
    assert "embedding passages" in result.stderr  # progress goes to stderr, JSON alone to stdout
    data = json.loads(result.stdout)
    assert set(data) == {"question", "answer", "abstained", "citations", "related", "passages", "pinned",
                         "language"}
    assert data["pinned"] is None and data["language"] == "en"
    assert data["abstained"] is False and "48 hours" in data["answer"]
    citation = data["citations"][0]
    assert set(citation) == {"n", "source_id", "title", "publisher", "published", "url", "kind", "quote",
                             "language"}
    assert citation["n"] == 1 and citation["published"] == "2013-09"
    assert set(data["passages"][0]) == {"source_id", "score", "text"}


def test_index_twice_embeds_nothing_the_second_time(home):
    first = run(["index"], home)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("embedded 0, reused ")  # built by the previous test's ask
    rebuilt = run(["index", "--rebuild"], home)
    assert rebuilt.stdout.startswith("embedded 4, reused 0")
    again = run(["index"], home)
    assert again.stdout.startswith("embedded 0, reused 4, removed 0")


def test_ask_abstains_in_text_output(home):
    result = run(["ask", "what is the capital of France?"], home)
    assert result.returncode == 0
    assert "don't answer" in result.stdout and "Related (not an answer):" in result.stdout


def test_sources_stats_and_eval(home, tmp_path):
    sources = json.loads(run(["sources", "--json"], home).stdout)
    assert {s["id"] for s in sources} == {"mini-illinois-withdraws", "mini-detainers"}
    assert run(["stats", "citizens"], home).stdout.count("3,600") == 1
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": "When did Illinois withdraw?", "must_contain": [["May 4"], "2011"],
                    "answerable": True}) + "\n" +
        json.dumps({"id": "b", "question": "What is the capital of France?", "must_contain": [],
                    "answerable": False}) + "\n")
    report = json.loads(run(["eval", str(questions), "--json"], home).stdout)
    assert report["answer_accuracy"] == 1.0 and report["abstention_accuracy"] == 1.0
    assert report["hit_at_5"] == 1.0 and report["citation_validity"] == 1.0 and report["false_abstentions"] == 0
    entry = report["per_question"][0]
    assert {"id", "question", "answer", "abstained", "citations", "top_passages"} <= set(entry)


def test_bad_input_gets_clear_errors_and_exit_codes(home, tmp_path):
    long_question = run(["ask", "x" * 600], home)
    assert long_question.returncode == 2 and "limit is 500" in long_question.stderr
    assert "Traceback" not in long_question.stderr
    bad_set = tmp_path / "bad.jsonl"
    bad_set.write_text('{"id": "a"}\n')
    result = run(["eval", str(bad_set)], home)
    assert result.returncode == 2 and "bad.jsonl:1" in result.stderr


def test_unreadable_source_is_skipped_with_exit_code_4(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.md").write_text("---\nid: good\ntitle: Good\npublisher: P\npublished: 2011\nkind: summary\n"
                                    "---\nSecure Communities checked fingerprints taken at jail bookings.")
    (corpus / "bad.md").write_text("---\ntitle: [broken\n---\ntext")
    result = run(["index"], tmp_path / "home", corpus=corpus)
    assert result.returncode == 4
    assert "bad.md" in result.stderr and "YAML" in result.stderr
    assert result.stdout.startswith("embedded 1,")


def test_damaged_index_exits_3_with_rebuild_advice(tmp_path):
    home = tmp_path / "home"
    assert run(["index"], home).returncode == 0
    generation = (home / "index" / (home / "index" / "CURRENT").read_text().strip())
    (generation / "vectors.npy").write_bytes(b"garbage")
    result = run(["ask", "When did Illinois withdraw?"], home)
    assert result.returncode == 3
    assert "citebot index --rebuild" in result.stderr and "Traceback" not in result.stderr
    assert run(["index", "--rebuild"], home).returncode == 0
    assert run(["ask", "When did Illinois withdraw?"], home).returncode == 0


def test_piped_questions_are_answered_one_per_line(home):
    result = run(["run"], home, stdin="When did Illinois withdraw?\n\nwhat is the capital of France?\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("> ") == 2
    assert "May 4, 2011" in result.stdout and "don't answer" in result.stdout


def test_forget_server_shows_then_deletes_one_servers_sources_and_records(tmp_path, encoder, mini_corpus):
    home = tmp_path / "home"
    service = make_service(home, encoder, [mini_corpus])
    service.build_index()
    for scope, town in (("111", "Springfield"), ("222", "Shelbyville")):
        body = f"The {town} clinic explains Secure Communities on Mondays.".encode()
        service.add_source(scope, f"{town.lower()}.txt", body, added_by="ana")
        question_id = service.answer_and_record(f"When does the {town} clinic meet?", scope, user_id="7")[1]
        service.activity.vote(question_id, "8", helpful=False)
        service.activity.set_setting(scope, "private", "true")
        service.activity.audit(scope, "7", "ana", "add", f"{town.lower()}.txt")
        service.pin(scope, f"Does the {town} clinic meet?", [body.decode()], pinned_by="ana")

    shown = run(["forget-server", "111"], home, mini_corpus)
    assert shown.returncode == 0, shown.stderr
    assert ("1 source file(s), 1 question(s), 1 vote(s), 1 setting(s), 1 pinned answer(s), 1 audit entry"
            in shown.stdout)
    assert "Nothing was deleted" in shown.stdout and service.scope_folder("111").is_dir()

    done = run(["forget-server", "111", "--yes"], home, mini_corpus)
    assert done.returncode == 0, done.stderr
    assert "Deleted for server 111: 1 source file(s), 1 question(s)" in done.stdout
    after = make_service(home, encoder, [mini_corpus])
    assert after.server_data("111").source_files == 0 and after.activity.scope_counts("111").questions == 0
    assert after.pins("111") == [] and len(after.pins("222")) == 1
    assert not after.scope_sources("111") and after.settings.uploads_home.joinpath("222").is_dir()
    assert [s.id for s in after.scope_sources("222")] == ["shelbyville"]  # the other server keeps everything
    assert after.activity.scope_counts("222") == service.activity.scope_counts("222")
    assert after.activity.settings("222") == {"private": "true"}
    gone = after.answer("When does the Springfield clinic explain Secure Communities?", scope="111")
    assert "Springfield" not in gone.answer

    refused = run(["forget-server", "../shared", "--yes"], home, mini_corpus)
    assert refused.returncode != 0 and "not a valid server scope" in refused.stderr


def test_a_bad_setting_or_model_is_a_message_not_a_traceback(tmp_path):
    bad_backend = run(["ask", "hi"], tmp_path / "home", CITEBOT_ENCODER_BACKEND="gpu")
    assert bad_backend.returncode == 2 and "Traceback" not in bad_backend.stderr
    assert bad_backend.stderr.startswith("error: a setting cannot be used: CITEBOT_ENCODER_BACKEND: should be one "
                                         "of auto, onnx, torch, not 'gpu'")
    no_model = run(["ask", "hi"], tmp_path / "home", CITEBOT_MODEL=str(tmp_path / "missing"),
                   CITEBOT_ENCODER_BACKEND="onnx")
    assert no_model.returncode == 1 and "Traceback" not in no_model.stderr
    assert f"the model folder {tmp_path / 'missing'} does not exist" in no_model.stderr


def test_ask_lang_is_the_fallback_and_json_says_which_language_answered(home):
    spanish = json.loads(run(["ask", "--json", "--lang", "es", "S-Comm 48?"], home).stdout)
    assert spanish["language"] == "es"
    english = json.loads(run(["ask", "--json", "--lang", "es", "How long is an ICE detainer?"], home).stdout)
    assert english["language"] == "en"  # the question's own words win over --lang
