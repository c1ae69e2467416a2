"""What the words alone say: naive Bayes over the FAQ's wordings and the labelled messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_runner import SHARED_CACHE

from bot.understanding.engine import Engine
from bot.understanding.matcher import tokens_of
from bot.understanding.signals import ENTRY_FEATURES
from bot.understanding.word_evidence import WordEvidence

REPO = Path(__file__).resolve().parent.parent


def test_a_word_seen_in_one_class_points_to_it() -> None:
    evidence = WordEvidence(
        ("parcoursup", "stage", ""),
        [(("parcoursup", "compte"), "parcoursup"), (("parcoursup", "date"), "parcoursup"),
         (("stage", "compte"), "stage"), (("stage", "entreprise"), "stage"), (("foot",), "")],
    )
    p = evidence.posterior(("compte", "parcoursup", "parents"))  # "parents": never seen, says nothing
    assert p.shape == (3,) and np.isclose(p.sum(), 1.0)
    assert p[0] > 0.6 and p[0] > p[1] > 0.0 and p[2] > 0.0  # smoothed: nothing is impossible
    assert np.allclose(evidence.posterior(("jamais", "vu")), [0.4, 0.4, 0.2])  # the prior: texts per class
    assert evidence.knows(("foot",)) and not evidence.knows(("jamais",))
    assert evidence.posterior(("foot",))[2] == max(evidence.posterior(("foot",)))


def test_texts_already_counted_weigh_as_the_texts_themselves() -> None:
    texts = [(("aesh", "ulis"), "handicap"), (("aesh",), "handicap"), (("bourse",), "bourses")]
    counted = [({"aesh": 2, "ulis": 1}, 2, "handicap"), ({"bourse": 1}, 1, "bourses")]
    one, other = WordEvidence(("handicap", "bourses"), texts), WordEvidence(("handicap", "bourses"), counted=counted)
    for words in (("aesh",), ("bourse", "ulis"), ("rien",)):
        assert np.allclose(one.posterior(words), other.posterior(words))


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(REPO / "knowledge", SHARED_CACHE)[0]


def test_a_programme_named_in_a_long_question_points_to_its_theme(engine: Engine) -> None:
    """The encoder reads this as a question about accounts and parents; its one rare word,
    "Parcoursup", is the theme's, and the word evidence says so to both decisions."""
    reading = engine.understand("Les parents peuvent-ils créer un compte Parcoursup pour suivre le dossier ?").reading
    column = ENTRY_FEATURES.index("topic_words")
    by_topic = {e.topic: float(row[column]) for e, row in zip(reading.entries, reading.rows, strict=True)}
    assert by_topic["parcoursup"] > 0.9
    assert all(p < 0.1 for topic, p in by_topic.items() if topic != "parcoursup")


def test_a_class_no_text_speaks_for_is_never_the_answer() -> None:
    evidence = WordEvidence(("vide", "stage", ""), [(("stage",), "stage"), (("foot",), "")])
    for words in (("jamais", "vu"), ("stage",), ("foot",)):
        assert evidence.posterior(words)[0] == 0.0
    assert np.allclose(WordEvidence(("a", "b")).posterior(("x",)), [0.5, 0.5])  # nothing learnt: even


def test_words_the_evidence_never_saw_add_no_candidate(engine: Engine) -> None:
    """With no known word the posterior is the prior, whose largest theme names nothing about
    the message: it must not bring that theme's entry among the candidates."""
    evidence = engine.signals.theme_words
    assert evidence.classes[-1] == ""  # the class of messages to decline, which names no entry
    likeliest = evidence.classes[int(np.argmax(evidence.posterior(())[:-1]))]  # the prior's theme
    for text in ("👍", "asdf qwer zxcv"):
        words = tokens_of(engine.normaliser.normalise(text))
        assert not evidence.knows(words)
        reading = engine.understand(text).reading
        assert all(e.topic != likeliest for e in reading.entries), [e.id for e in reading.entries]


def test_each_labelled_text_is_counted_once_by_the_words(engine: Engine) -> None:
    """An example that is one of its theme's FAQ questions is counted with the FAQ; a decline
    that is also an example to decline, once."""
    kb = engine.kb
    entry = next(e for e in kb.entries.values() if e.topic == "cio")
    question = entry.questions[0]
    banks = type(engine.banks)(("il fait beau", "foot ce soir"), (),
                               ((question, "cio"), (question.upper() + " ", "cio"), (question, "stage-3e"),
                                ("foot ce soir", ""), ("mon fils cherche un stage", "stage-3e")))
    texts = engine._word_texts(kb, banks)
    assert (question, "cio") not in texts and (question.upper() + " ", "cio") not in texts
    assert (question, "stage-3e") in texts  # another theme's label is another text
    assert texts.count(("foot ce soir", "")) == 1 and ("il fait beau", "") in texts
    # Told apart from each other as from the FAQ: case and spaces aside.
    again = engine._word_texts(kb, type(engine.banks)(("Foot ce soir ",), (), (("foot ce soir", ""),)))
    assert again == [("foot ce soir", "")]
    assert ("mon fils cherche un stage", "stage-3e") in texts


def test_the_sparse_form_gives_the_smoothed_naive_bayes_of_the_full_table() -> None:
    """Kept as each class's value for an unseen word plus the pairs seen, the posterior is the
    one the whole class-by-word table gives: log P(w | c) = log((n(w, c) + s) / (N(c) + s V))."""
    from bot.understanding.word_evidence import SMOOTHING

    rng = np.random.default_rng(3)
    classes = ("a", "b", "c", "d", "")
    vocabulary = [f"w{i}" for i in range(40)]
    texts = [(tuple(rng.choice(vocabulary, size=rng.integers(1, 6))), str(rng.choice(classes[:-1])))
             for _ in range(60)]
    evidence = WordEvidence(classes, texts)
    # The full table, counted here from the texts as the class's docstring says.
    words = sorted({w for text, _ in texts for w in text})
    table = np.zeros((len(classes), len(words)))
    prior = np.zeros(len(classes))
    for text, label in texts:
        prior[classes.index(label)] += 1
        for w in set(text):
            table[classes.index(label), words.index(w)] += 1
    log_word = np.log((table + SMOOTHING) / (table.sum(axis=1, keepdims=True) + SMOOTHING * len(words)))
    with np.errstate(divide="ignore"):
        log_prior = np.log(prior / prior.sum())
    for _ in range(30):
        asked = tuple(rng.choice([*vocabulary, "jamais"], size=rng.integers(0, 5)))
        known = [words.index(w) for w in set(asked) if w in words]
        log_p = log_prior + log_word[:, known].sum(axis=1)
        expected = np.exp(log_p - log_p.max())
        assert np.allclose(evidence.posterior(asked), expected / expected.sum(), rtol=0, atol=1e-12)
