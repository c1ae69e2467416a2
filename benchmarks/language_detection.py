"""How often the language detector gets a message's language right, on messages whose words it
did not learn from.

Run:  python benchmarks/language_detection.py   (half a minute)

The sets listed in knowledge/fit/sets.yaml are split in two halves (every other set). For each
half, the detector's word list is learnt as the bot learns it (translated answers, fixed
messages) plus the labelled messages of the other half only (`lang: pt`), then it reads this
half: the messages that say their language, and the French ones (the sets without `lang`, but
not eval.yaml, dev_questions.yaml and unseen_questions.yaml, which hold English questions
without saying so). Printed beside: the same without any labelled message learnt.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.knowledge.questions import Question, listed_sets, load_questions  # noqa: E402
from bot.understanding.engine import Engine  # noqa: E402
from bot.understanding.languages import word_languages  # noqa: E402

UNLABELLED_ENGLISH = ("eval.yaml", "dev_questions.yaml", "unseen_questions.yaml")


def errors(engine: Engine, learnt: dict[str, str],
           sets: list[tuple[Path, list[Question]]]) -> tuple[int, int, int, int]:
    """(foreign messages read wrong, foreign messages, French ones read as another language, French ones)."""
    engine.detector._word_language = learnt
    foreign_wrong = foreign = french_wrong = french = 0
    for path, questions in sets:
        for question in questions:
            if question.lang:
                foreign += 1
                foreign_wrong += engine.detector.detect(question.text) != question.lang
            elif path.name not in UNLABELLED_ENGLISH:
                french += 1
                french_wrong += engine.detector.detect(question.text) != "fr"
    return foreign_wrong, foreign, french_wrong, french


def main() -> int:
    knowledge = REPO / "knowledge"
    engine, _ = Engine.load(knowledge)
    sets = [(path, load_questions(path)) for path in listed_sets(knowledge)[0] if path.exists()]
    labelled = set(engine.banks.languages)
    french, others = engine.language_texts(engine.place_words(), labelled=False)
    totals = {"sans": [0, 0, 0, 0], "avec": [0, 0, 0, 0]}
    for half in (0, 1):
        read = [s for k, s in enumerate(sets) if k % 2 == half]
        taught = {lang: list(words) for lang, words in others.items()}
        for _, questions in (s for k, s in enumerate(sets) if k % 2 != half):
            for question in questions:
                if question.lang and (question.text, question.lang) in labelled:
                    taught.setdefault(question.lang, []).append(question.text)
        for name, learnt in (("sans", word_languages(french, others)), ("avec", word_languages(french, taught))):
            totals[name] = [a + b for a, b in zip(totals[name], errors(engine, learnt, read), strict=True)]
    for name, (foreign_wrong, foreign, french_wrong, french) in totals.items():
        print(f"{name} les messages étiquetés de l'autre moitié : autres langues mal lues {foreign_wrong} sur "
              f"{foreign} ({100 * foreign_wrong / max(foreign, 1):.1f} %), messages français lus dans une autre "
              f"langue {french_wrong} sur {french} ({100 * french_wrong / max(french, 1):.2f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
