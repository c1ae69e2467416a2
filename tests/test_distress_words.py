"""What the words of a message say of distress: a logistic regression on hashed words, word pairs
and letter sequences, learnt from the labelled messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.understanding.distress_words import (
    SHIPPED_FILE,
    DistressWords,
    features,
    labelled_digest,
    place_pattern,
    read_shipped,
    shipped_key,
    words_of,
    write_shipped,
)
from bot.understanding.engine import Engine
from bot.understanding.reading_memo import ReadingMemo
from bot.understanding.signals import SAFETY_FEATURES

DISTRESS = [
    "je veux plus vivre", "jveu plu vivre", "il me frappe le soir", "mon beau pere me frappe",
    "j'ai envie de disparaitre", "g envi de disparaitre", "personne m'aiderait si je partais",
    "il vient dans ma chambre la nuit", "ils ont mes photos et menacent de les envoyer",
    "je me coupe les bras", "mon pere me tape quand il a bu", "je dors dehors depuis hier",
]
ORDINARY = [
    "mdr ma mere va me tuer si jai pas de stage", "je suis mort de rire", "au secours l'exo de maths",
    "le film sur le harcelement c'est pour quel age", "je vais mourir de honte a l'oral mdr",
    "mon pere va me tuer pour ma note de maths lol", "cet exercice me tue", "jsuis mort de fatigue",
    "expose sur le harcelement pour lundi", "mon voisin se gare devant mon garage",
    "ma fille stresse pour le brevet", "il est mort de rire en cours",
]


def test_features_read_without_case_accents_or_punctuation() -> None:
    assert np.array_equal(features("Élève, TRÈS stressé !"), features("eleve tres stresse"))
    assert np.array_equal(features("ma sœur, mes vœux"), features("ma soeur mes voeux"))  # ligatures
    assert len(features("c koi un cio")) > 0
    assert len(features("")) == 0 and len(features("?!")) == 0


def test_other_scripts_are_read_as_written_even_beside_latin_words() -> None:
    assert words_of("mon fils يضربني") == ["mon", "fils", "يضربني"]
    assert words_of("ابني عمره 12 سنة") == ["ابني", "عمره", "12", "سنة"]
    assert "学校说有个" in words_of("学校说有个AFEV的") and "afev" in words_of("学校说有个AFEV的")
    assert not np.array_equal(features("mon fils يضربني"), features("mon fils"))


def test_place_names_are_left_out_in_any_spelling() -> None:
    places = place_pattern(["Vitry-sur-Seine", "Vitry", "Créteil", "94000", "فيتري"])
    assert np.array_equal(features("cio Vitry-sur-Seine", places), features("cio", places))
    assert np.array_equal(features("CIO de créteil 94000 ?", places), features("cio de", places))
    assert np.array_equal(features("مدرسة في فيتري", places), features("مدرسة في", places))
    assert np.array_equal(features("vitrySeine", places), features("vitryseine"))  # a whole name only
    assert place_pattern([]) is None


def test_it_learns_which_words_lean_to_distress_and_reads_spellings_it_never_saw() -> None:
    words = DistressWords.learn([*DISTRESS, *ORDINARY], [True] * len(DISTRESS) + [False] * len(ORDINARY))
    assert words is not None
    assert all(words.score(t) > 0 for t in DISTRESS) and all(words.score(t) < 0 for t in ORDINARY)
    # Never seen whole, written otherwise: letter sequences and words carry over.
    assert words.score("jveux plus vivre du tout") > words.score("mdr jsuis morte de rire")
    assert DistressWords.learn(DISTRESS, [True] * len(DISTRESS)) is None  # one group only
    assert DistressWords.learn([], []) is None


def test_learning_is_the_same_every_time_and_survives_its_text_form() -> None:
    labels = [True] * len(DISTRESS) + [False] * len(ORDINARY)
    first = DistressWords.learn([*DISTRESS, *ORDINARY], labels)
    second = DistressWords.learn([*DISTRESS, *ORDINARY], labels)
    assert first is not None and second is not None
    assert np.array_equal(first.weights, second.weights) and first.bias == second.bias
    again = DistressWords.from_text(first.as_text())
    assert np.array_equal(again.weights, first.weights) and again.bias == first.bias
    assert again.score("je veux plus vivre") == first.score("je veux plus vivre")
    for damaged in ("0.0 AAAA", "nan " + first.as_text().split(" ", 1)[1], "x", first.as_text()[:-8]):
        with pytest.raises(ValueError):
            DistressWords.from_text(damaged)
    # Its key changes with a text, a label or the order.
    assert labelled_digest(["a", "b"], [True, False]) != labelled_digest(["a", "b"], [False, False])
    assert labelled_digest(["a", "b"], [True, False]) != labelled_digest(["b", "a"], [False, True])


def test_the_bot_learns_it_once_and_reads_it_back(engine: Engine, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A first start learns it from the knowledge base and keeps it in the memo; the next start
    reads it back (learning it again would fail here) and reads the same."""
    memo = ReadingMemo(tmp_path / "memo.json", "k")
    first = engine._distress_words(engine.kb, engine.banks, memo, None)
    memo.save()
    assert first is not None and np.array_equal(first.weights, engine.signals.distress_words.weights)

    def never(*_: object) -> None:
        raise AssertionError("learnt again")
    monkeypatch.setattr(DistressWords, "learn", never)
    reopened = ReadingMemo(tmp_path / "memo.json", "k")
    kept = engine._distress_words(engine.kb, engine.banks, reopened, None)
    assert kept is not None and np.array_equal(kept.weights, first.weights) and kept.bias == first.bias
    assert reopened._computed == 0
    assert kept.score("cio vitry") == kept.score("cio") == kept.score("cio créteil")  # towns left out


def test_a_damaged_memo_value_is_learnt_again(engine: Engine, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    memo = ReadingMemo(tmp_path / "memo.json", "k")
    first = engine._distress_words(engine.kb, engine.banks, memo, None)
    assert first is not None
    for kind in memo._asked.values():  # as if edited by hand
        for key in kind:
            kind[key] = "0.5 broken"
    memo.save()
    reopened = ReadingMemo(tmp_path / "memo.json", "k")
    again = engine._distress_words(engine.kb, engine.banks, reopened, None)
    assert again is not None and np.array_equal(again.weights, first.weights)
    reopened.save()  # the learnt value replaces the damaged one: the next start reads it back

    def never(*_: object) -> None:
        raise AssertionError("learnt again")
    monkeypatch.setattr(DistressWords, "learn", never)
    kept = engine._distress_words(engine.kb, engine.banks, ReadingMemo(tmp_path / "memo.json", "k"), None)
    assert kept is not None and np.array_equal(kept.weights, first.weights)


def test_weights_shipped_for_the_same_texts_are_read_and_others_are_learnt(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fit` keeps the learnt weights in the knowledge folder under a key of what they were learnt
    from and of the code that reads features: a fresh machine reads them instead of learning.
    (The probe shipped beside them: tests/test_distress_probe.py.)"""
    shipped = tmp_path / SHIPPED_FILE
    assert engine.signals.distress_words is not None
    write_shipped(shipped, (engine.distress_words_key, engine.signals.distress_words), None)
    learnt = DistressWords.learn

    def never(*_: object) -> None:
        raise AssertionError("learnt again")
    monkeypatch.setattr(DistressWords, "learn", never)
    read = engine._distress_words(engine.kb, engine.banks, ReadingMemo(tmp_path / "memo.json", "k"), shipped)
    assert read is not None and np.array_equal(read.weights, engine.signals.distress_words.weights)
    assert read.bias == engine.signals.distress_words.bias
    assert read.score("cio vitry") == read.score("cio")  # the places' pattern applies to them too
    # Learnt from other texts (another key), damaged, or absent: learnt.
    assert read_shipped(shipped, shipped_key("other texts")) is None
    shipped.write_bytes(b"not a zip")
    assert read_shipped(shipped, engine.distress_words_key) is None
    assert read_shipped(tmp_path / "absent.npz", engine.distress_words_key) is None
    monkeypatch.setattr(DistressWords, "learn", learnt)
    again = engine._distress_words(engine.kb, engine.banks, None, shipped)
    assert again is not None and np.array_equal(again.weights, engine.signals.distress_words.weights)


def test_the_bots_words_lean_the_right_way_on_messages_it_never_learnt(engine: Engine) -> None:
    """Learnt from the FAQ's wordings, the banks and the sets' messages; read here on messages
    none of them holds, in the safety model's row."""
    column = SAFETY_FEATURES.index("distress_words")
    learnt = {t.casefold() for t, _ in engine.banks.examples} | {t.casefold() for t in engine.banks.ordinary}

    def lean(text: str) -> float:
        assert text.casefold() not in learnt
        return float(engine.understand(text).reading.safety_row[column])

    for text in ("le monsieur du 3e me donne des bonbons et me dit de garder le secret pour nous deux",
                 "jpp jveux juste dormir et plus jamais me reveiller"):
        assert lean(text) > 0, text
    for text in ("ptdr le prof de sport va me tuer jai oublie mes baskets",
                 "mon fils doit faire un exposé sur les violences scolaires, vous avez des sources ?"):
        assert lean(text) < 0, text
