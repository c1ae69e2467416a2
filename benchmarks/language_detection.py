"""How often the language detector gets a message's language right, on messages whose words it
did not learn from.

Run:  python benchmarks/language_detection.py   (half a minute)
      python benchmarks/language_detection.py --show   (and the French messages read wrong)

The sets listed in knowledge/fit/sets.yaml are split in two halves (every other set). For each
half, the detector's words are learnt as the bot learns them (translated answers, fixed messages,
the banks) plus the other half's messages only: those that say their language (`lang: pt`) for
it, the others for French. Then it reads this half: the messages that say their language, and
the French ones (those without `lang`, but not in eval.yaml, dev_questions.yaml and
unseen_questions.yaml, which hold English questions without saying so); a message whose very
text it learnt from (in both halves, or in a bank) is left out. Printed beside: the same without
any message of the sets learnt.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.knowledge.questions import Question, listed_sets, load_questions  # noqa: E402
from bot.understanding.engine import Engine  # noqa: E402
from bot.understanding.languages import NEUTRAL_WORDS, LanguageDetector, word_languages  # noqa: E402

UNLABELLED_ENGLISH = ("eval.yaml", "dev_questions.yaml", "unseen_questions.yaml")
Sets = list[tuple[Path, list[Question]]]


def errors(detector: LanguageDetector, sets: Sets, learnt: set[str],
           shown: list[str] | None = None) -> tuple[int, int, int, int]:
    """(foreign messages read wrong, foreign messages, French ones read as another language, French ones);
    each French message read wrong added to `shown`, with the language read."""
    foreign_wrong = foreign = french_wrong = french = 0
    for path, questions in sets:
        for question in questions:
            if question.text in learnt:
                continue
            if question.lang:
                foreign += 1
                foreign_wrong += detector.detect(question.text) != question.lang
            elif path.name not in UNLABELLED_ENGLISH:
                french += 1
                read_as = detector.detect(question.text)
                french_wrong += read_as != "fr"
                if read_as != "fr" and shown is not None:
                    shown.append(f"  {read_as}  {question.text[:100]}  ({path.parent.name}/{path.name})")
    return foreign_wrong, foreign, french_wrong, french


def main() -> int:
    knowledge = REPO / "knowledge"
    engine, _ = Engine.load(knowledge)
    sets = [(path, load_questions(path)) for path in listed_sets(knowledge)[0] if path.exists()]
    places = engine.place_words()
    french, others, _ = engine.language_texts(places, sets=False)
    banks = {*engine.banks.declines, *engine.banks.ordinary}
    totals = {"sans": [0, 0, 0, 0], "avec": [0, 0, 0, 0]}
    shown: list[str] = []
    for half in (0, 1):
        read = [s for k, s in enumerate(sets) if k % 2 == half]
        taught_french, labelled = list(french), {}
        for _, questions in (s for k, s in enumerate(sets) if k % 2 != half):
            for question in questions:
                if question.lang:
                    labelled.setdefault(question.lang, []).append(question.text)
                else:
                    taught_french.append(question.text)
        learnt = banks | set(taught_french) | {t for texts in labelled.values() for t in texts}
        for name, words in (("sans", word_languages(french, others)),
                            ("avec", word_languages(taught_french, others, labelled))):
            detector = LanguageDetector((*NEUTRAL_WORDS, *places), words)
            counts = errors(detector, read, learnt, shown if name == "avec" else None)
            totals[name] = [a + b for a, b in zip(totals[name], counts, strict=True)]
    for name, (foreign_wrong, foreign, french_wrong, french) in totals.items():
        print(f"{name} les messages des jeux de l'autre moitié : autres langues mal lues {foreign_wrong} sur "
              f"{foreign} ({100 * foreign_wrong / max(foreign, 1):.1f} %), messages français lus dans une autre "
              f"langue {french_wrong} sur {french} ({100 * french_wrong / max(french, 1):.2f} %)")
    if "--show" in sys.argv[1:]:
        print("Messages français lus dans une autre langue (avec les messages de l'autre moitié) :", *shown, sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
