"""The one decision and its policy: bars, probabilities, the file `fit` writes, `check`'s warnings."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import yaml
from cli_runner import REPO, run_cli

from bot.knowledge.model import Entry
from bot.understanding.decision import ANSWER, DECLINE, HELPLINE, SUGGEST, THEME, decide
from bot.understanding.distress_words import SHIPPED_FILE as SHIPPED_DISTRESS
from bot.understanding.engine import FALLBACK, Engine
from bot.understanding.engine import SUGGEST as SUGGEST_STATUS
from bot.understanding.policy import (
    POLICY_FILE,
    Bars,
    Model,
    Policy,
    cautious,
    fingerprint,
    load_policy,
    training_fingerprint,
)
from bot.understanding.semantic import SHIPPED_FILE as SHIPPED_VECTORS
from bot.understanding.semantic import _key
from bot.understanding.signals import ENTRY_FEATURES, SAFETY_FEATURES, TOPIC_FEATURES, Reading, topic_rows


def _entry(entry_id: str, topic: str) -> Entry:
    return Entry(entry_id, topic, (f"{entry_id} ?",), "réponse", ("source",), __import__("datetime").date(2026, 1, 1))


def _only(features: tuple[str, ...], name: str, weight: float, bias: float) -> Model:
    """A model that reads one feature: its probability is known exactly."""
    n = len(features)
    weights = tuple(weight if f == name else 0.0 for f in features)
    return Model(features, (0.0,) * n, (1.0,) * n, weights, bias)


POLICY = Policy(
    entry_model=_only(ENTRY_FEATURES, "cos", 10.0, -5.0),  # p = sigmoid(10 cos - 5)
    safety_model=_only(SAFETY_FEATURES, "trigger", 10.0, -5.0),
    bars=Bars(answer=0.9, theme=0.8, suggest=0.3, safety=0.5),
)
A1, A2, B1 = _entry("a-un", "a"), _entry("a-deux", "a"), _entry("b-un", "b")
SIZES = {"a": 2, "b": 1}


def _reading(cosines: list[float], trigger: bool = False, entries: tuple[Entry, ...] = (A1, A2, B1)) -> Reading:
    rows = np.zeros((len(entries), len(ENTRY_FEATURES)))
    rows[:, ENTRY_FEATURES.index("cos")] = cosines
    safety = np.zeros(len(SAFETY_FEATURES))
    safety[SAFETY_FEATURES.index("trigger")] = 1.0 if trigger else 0.0
    return Reading(entries, rows, safety, B1 if trigger else None, B1)


@pytest.mark.parametrize(
    ("cosines", "kind", "step"),
    [
        ([0.9, 0.1, 0.1], ANSWER, "answer"),  # p(a-un) = 0.98
        ([0.6, 0.6, 0.0], THEME, "theme-overview"),  # 0.73 each, 0.73 + 0.73 for theme a
        ([0.1, 0.1, 0.6], SUGGEST, "suggest"),  # b has one entry: no overview; 0.73 suggests
        ([0.1, 0.1, 0.2], DECLINE, "decline"),
    ],
)
def test_the_decision_follows_the_bars(cosines: list[float], kind: str, step: str) -> None:
    decision = decide(_reading(cosines), POLICY, SIZES)
    assert (decision.kind, decision.step) == (kind, step)
    assert decision.probabilities == tuple(sorted(decision.probabilities, reverse=True))


def test_helplines_come_before_any_answer() -> None:
    decision = decide(_reading([0.99, 0.0, 0.0], trigger=True), POLICY, SIZES)
    assert decision.kind == HELPLINE and decision.helpline == B1 and decision.step == "helpline-trigger"


def test_a_sentence_read_alone_has_its_own_bar_and_triggers_theirs() -> None:
    """One sentence of a long message is a noisier reading: its bar (fitted) is higher."""
    bars = replace(POLICY.bars, safety=0.2, safety_part=0.99, safety_trigger=0.2)
    policy = replace(POLICY, bars=bars)
    reading = _reading([0.1, 0.1, 0.1])
    reading.safety_row[SAFETY_FEATURES.index("trigger")] = 0.45  # p = sigmoid(4.5 - 5) = 0.38
    assert decide(reading, policy, SIZES).kind == HELPLINE  # the whole message: 0.38 >= 0.2
    assert decide(reading, policy, SIZES, part=True).kind != HELPLINE  # a sentence alone: < 0.99
    assert bars.helpline_bar(True, part=True) == 0.2 and bars.part_bar() == 0.99


# The theme model reads the best cosine of each theme: p = sigmoid(10 cos - 5).
THEMED = replace(POLICY, topic_model=_only(TOPIC_FEATURES, "cos", 10.0, -5.0))
SMALL_TALK = (_entry("chit-chat-un", "chit-chat"), _entry("chit-chat-deux", "chit-chat"), B1)


def test_each_theme_is_described_by_its_best_candidate() -> None:
    rows = np.zeros((3, len(ENTRY_FEATURES)))
    rows[:, ENTRY_FEATURES.index("cos")] = [0.2, 0.7, 0.4]
    rows[:, ENTRY_FEATURES.index("intent")] = [1.0, -1.0, 0.0]
    rows[:, ENTRY_FEATURES.index("length")] = 2.0
    rows[:, ENTRY_FEATURES.index("unknown")] = 0.3
    rows[:, ENTRY_FEATURES.index("foreign")] = 1.0
    themes, described = topic_rows(rows, ("a", "a", "b"))
    column = {name: described[:, TOPIC_FEATURES.index(name)].tolist() for name in TOPIC_FEATURES}
    assert themes == ("a", "b")
    assert column["cos"] == [0.7, 0.4] and column["length"] == [2.0, 2.0]
    assert column["unknown"] == [0.3, 0.3] and column["foreign"] == [1.0, 1.0]
    assert column["candidates"] == pytest.approx([2 / 3, 1 / 3])
    assert column["intent"] == [1.0, 0.0] and column["intent_met"] == [0.0, 0.0]


def test_the_theme_model_decides_the_overview() -> None:
    """Unsure of the entry (0.73 each, under 0.9), the theme model is sure of the theme
    (0.82 >= 0.8): the overview, where the entries' probabilities added up would say more."""
    decision = decide(_reading([0.66, 0.1, 0.0]), THEMED, SIZES)
    assert (decision.kind, decision.step, decision.topic) == (THEME, "theme-overview", "a")
    unsure = decide(_reading([0.6, 0.6, 0.0]), THEMED, SIZES)  # the theme model: 0.73 < 0.8
    assert unsure.kind == SUGGEST and decide(_reading([0.6, 0.6, 0.0]), POLICY, SIZES).kind == THEME


def test_beside_the_helplines_the_message_s_other_question_is_kept() -> None:
    """Helplines first (a trigger phrase); the likeliest entry outside them comes along when it
    would have been offered (a-deux: 0.73 >= 0.3), and nothing when none would (0.02)."""
    safety = _entry("securite-x", "securite")
    asking = decide(_reading([0.2, 0.6, 0.9], trigger=True, entries=(A1, A2, safety)), POLICY, SIZES)
    assert asking.kind == HELPLINE and asking.also_asked == (A2,)
    alone = decide(_reading([0.1, 0.1, 0.9], trigger=True, entries=(A1, A2, safety)), POLICY, SIZES)
    assert alone.kind == HELPLINE and alone.also_asked == ()


def test_a_sure_theme_without_an_overview_suggests_its_entries_first() -> None:
    """Small talk has no overview: sure of it (0.88), the bot offers its entries before the
    entry that is likelier alone (b-un, by its lexical score)."""
    reading = _reading([0.1, 0.7, 0.2], entries=SMALL_TALK)
    reading.rows[:, ENTRY_FEATURES.index("lex")] = [0.1, 0.5, 0.6]
    by_words = replace(THEMED, entry_model=_only(ENTRY_FEATURES, "lex", 10.0, -5.0))
    decision = decide(reading, by_words, {"chit-chat": 2, "b": 1})
    assert (decision.kind, decision.step) == (SUGGEST, "suggest-theme")
    assert [e.id for e in decision.ranked] == ["chit-chat-deux", "chit-chat-un", "b-un"]
    assert decision.probabilities[2] > decision.probabilities[0] > decision.probabilities[1]


def test_a_likely_theme_is_offered_when_no_entry_is_likely_enough() -> None:
    """No entry reaches the suggestion bar (a-deux: 0.27 < 0.3), the theme a does reach the
    bar for offering a theme's questions (0.27 >= 0.25): its entries first; without that bar
    (a policy from before it), "I don't know"."""
    reading = _reading([0.1, 0.4, 0.05])
    offering = replace(THEMED, bars=replace(THEMED.bars, theme_suggest=0.25))
    decision = decide(reading, offering, SIZES)
    assert (decision.kind, decision.step) == (SUGGEST, "suggest-theme")
    assert [e.topic for e in decision.ranked[:2]] == ["a", "a"]
    assert decide(reading, THEMED, SIZES).kind == DECLINE
    assert decide(_reading([0.1, 0.1, 0.05]), offering, SIZES).kind == DECLINE  # theme a: 0.02


def _outcome(p_top: float, p_topic: float, decline: bool, top_right: bool = False, topic_right: bool = False):
    from bot.maintainers.fit import Outcome

    return Outcome(p_top, p_top, top_right, p_topic, topic_right, True, False, decline, True, True,
                   0.0, 0.0, 0.0, 0.0, False, False)


def test_the_fit_offers_a_theme_only_where_it_reaches_more_at_the_same_declines() -> None:
    from bot.maintainers.fit import DECLINED, _suggestion_bars

    rng = np.random.default_rng(0)
    declines = [_outcome(float(p), float(t), True) for p, t in zip(rng.uniform(0, 0.5, 200),
                                                                   rng.uniform(0, 0.05, 200), strict=True)]
    themed = [_outcome(0.1, 0.5, False, topic_right=True) for _ in range(50)]  # the theme right, no entry
    entry_bar, theme_bar = _suggestion_bars(declines, themed, answer=0.9)
    assert theme_bar <= 0.5
    kept = sum(o.p_top < entry_bar and o.p_topic < theme_bar for o in declines) / len(declines)
    assert kept >= DECLINED
    wrong_theme = [_outcome(0.1, 0.5, False) for _ in range(50)]
    assert _suggestion_bars(declines, wrong_theme, answer=0.9)[1] == 1.01  # nothing to gain: off


def test_the_helpline_bar_is_the_highest_the_data_cannot_tell_from_the_cheapest() -> None:
    from bot.maintainers.fit import MISS_COST, _helpline_bar

    rng = np.random.default_rng(1)
    distress = rng.beta(5, 1, 2000)  # most near 1
    ordinary = rng.beta(1, 5, 2000)  # most near 0
    bar = _helpline_bar(distress, [ordinary])

    def cost(t: float) -> float:
        return MISS_COST * float((distress < t).mean()) + float((ordinary >= t).mean())

    candidates = np.unique(distress)
    cheapest = min(candidates, key=cost)
    # The standard error of that cost, from the two rates at the cheapest bar (binomial).
    missed, alarms = float((distress < cheapest).mean()), float((ordinary >= cheapest).mean())
    error = np.sqrt(MISS_COST**2 * missed * (1 - missed) / len(distress) + alarms * (1 - alarms) / len(ordinary))
    assert 0.005 < error < 0.03
    assert bar > cheapest  # a flat bottom: a higher bar costs about as much...
    assert cost(bar) <= cost(cheapest) + error  # ...within one standard error
    assert all(cost(t) > cost(cheapest) + error for t in candidates if t > bar)  # and it is the highest
    # With ten times the messages the error shrinks: the bar comes closer to the cheapest one,
    # 1 / (1 + 4 ** 0.25) for these two laws (where 4 x 5t^4 = 5(1 - t)^4).
    many = _helpline_bar(rng.beta(5, 1, 20_000), [rng.beta(1, 5, 20_000)])
    best = 1 / (1 + MISS_COST**0.25)
    assert abs(many - best) < abs(bar - best)


def test_the_policy_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / POLICY_FILE
    POLICY.save(path)
    again = Policy.load(path, ENTRY_FEATURES, SAFETY_FEATURES, TOPIC_FEATURES)
    assert again.bars == POLICY.bars and again.topic_model is None and again.bars.theme_suggest == 1.01
    offering = replace(POLICY, bars=replace(POLICY.bars, theme_suggest=0.42))
    offering.save(path)
    assert Policy.load(path, ENTRY_FEATURES, SAFETY_FEATURES, TOPIC_FEATURES).bars.theme_suggest == 0.42
    rows = np.random.default_rng(1).normal(size=(4, len(ENTRY_FEATURES)))
    assert np.allclose(again.entry_model.probability(rows), POLICY.entry_model.probability(rows), atol=1e-5)
    THEMED.save(path)
    themed = Policy.load(path, ENTRY_FEATURES, SAFETY_FEATURES, TOPIC_FEATURES)
    described = np.random.default_rng(2).normal(size=(3, len(TOPIC_FEATURES)))
    assert themed.topic_model is not None
    assert np.allclose(themed.topic_model.probability(described), THEMED.topic_model.probability(described))


def test_the_shipped_policy_is_current(engine: Engine) -> None:
    """`fit` was re-run after the last change to the FAQ's questions (`check` would warn)."""
    policy, problems = load_policy(REPO / "knowledge", engine.kb, ENTRY_FEATURES, SAFETY_FEATURES, TOPIC_FEATURES)
    assert policy is not None and not problems, [str(p) for p in problems]
    assert policy.topic_model is not None and engine.policy.topic_model == policy.topic_model
    assert policy.faq_fingerprint == fingerprint(engine.kb)[0]
    assert policy.training_fingerprint == training_fingerprint(REPO / "knowledge")  # knowledge/fit/ too
    assert 0 < policy.bars.suggest <= policy.bars.theme and policy.bars.suggest <= policy.bars.answer <= 1
    assert policy.bars.part_bar() >= policy.bars.safety  # a sentence alone never needs less


def test_a_message_in_another_language_is_read_as_foreign(engine: Engine) -> None:
    """The lexical signal reads French: the decision knows when it has nothing to say."""
    english = engine.understand("my son cannot find a work placement for 3e").reading
    french = engine.understand("mon fils ne trouve pas de stage de 3e").reading
    assert english.rows[0, ENTRY_FEATURES.index("foreign")] == 1.0
    assert english.safety_row[SAFETY_FEATURES.index("foreign")] == 1.0
    assert french.rows[0, ENTRY_FEATURES.index("foreign")] == 0.0


def _knowledge_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", copy)
    return copy


def _add_a_wording(knowledge: Path) -> None:
    """A maintainer adds one way of asking to an entry: the policy is now stale."""
    faq = knowledge / "faq" / "cio.yaml"
    faq.write_text(faq.read_text(encoding="utf-8").replace(
        "      - c koi un cio\n", "      - c koi un cio\n      - ca veut dire quoi cio au juste\n", 1),
        encoding="utf-8")


def test_check_warns_when_the_faq_changed_since_the_fit(tmp_path: Path) -> None:
    knowledge = _knowledge_copy(tmp_path)
    _add_a_wording(knowledge)
    result = run_cli("check", "--knowledge", str(knowledge))
    assert result.returncode == 0, result.stdout
    assert "policy.yaml:1: avertissement : la FAQ a changé depuis le dernier calibrage" in result.stdout
    assert "python run_bot.py fit" in result.stdout


def test_check_warns_when_the_training_messages_changed_since_the_fit(tmp_path: Path) -> None:
    # The knowledge folder and the sets it lists (../../benchmarks/...), as in the repository.
    knowledge = _knowledge_copy(tmp_path)
    shutil.copytree(REPO / "benchmarks", tmp_path / "benchmarks")
    stale = "policy.yaml:1: avertissement : les messages d'apprentissage"
    assert training_fingerprint(knowledge) == training_fingerprint(REPO / "knowledge")
    assert stale not in run_cli("check", "--knowledge", str(knowledge)).stdout
    # A maintainer adds an ordinary message to a bank, then one to a listed set: each is new to the fit.
    bank = knowledge / "fit" / "ordinary_strong_words.yaml"
    original = bank.read_text(encoding="utf-8")
    bank.write_text(original + '  - "je suis mort de rire devant ce film"\n', encoding="utf-8")
    result = run_cli("check", "--knowledge", str(knowledge))
    assert result.returncode == 0 and stale in result.stdout and "python run_bot.py fit" in result.stdout
    bank.write_text(original, encoding="utf-8")
    assert training_fingerprint(knowledge) == training_fingerprint(REPO / "knowledge")
    listed = tmp_path / "benchmarks" / "dev_questions.yaml"
    kept = listed.read_text(encoding="utf-8")
    listed.write_text(kept + '  - q: "mon fils veut faire un stage chez un garagiste"\n    expect_topic: stage-3e\n',
                      encoding="utf-8")
    assert stale in run_cli("check", "--knowledge", str(knowledge)).stdout
    listed.write_text(kept.replace("\n", "\r\n"), encoding="utf-8")  # the same file, Windows line ends
    assert training_fingerprint(knowledge) == training_fingerprint(REPO / "knowledge")
    listed.unlink()  # a set gone missing: the fit would learn without it
    assert training_fingerprint(knowledge) != training_fingerprint(REPO / "knowledge")


def test_a_broken_policy_is_an_error_and_the_bot_still_answers(tmp_path: Path) -> None:
    knowledge = _knowledge_copy(tmp_path)
    (knowledge / POLICY_FILE).write_text("bars: [1, 2\n", encoding="utf-8")
    check = run_cli("check", "--knowledge", str(knowledge))
    assert check.returncode == 1 and "policy.yaml:1: politique illisible" in check.stdout
    asked = run_cli("ask", "--json", "--knowledge", str(knowledge), "je veux me tuer")
    assert asked.returncode == 0, asked.stderr
    assert '"status": "answer"' in asked.stdout and "3114" in asked.stdout


def test_without_a_policy_the_engine_only_suggests(engine: Engine) -> None:
    careful = Engine(engine.kb, cautious(ENTRY_FEATURES, SAFETY_FEATURES), engine.signals.semantic.cache, engine.banks)
    reply = careful.respond("Comment trouver un stage de 3e ?")
    assert reply.status == SUGGEST_STATUS and reply.decided_by == "suggest"
    assert any(e.id == "stage-3e-trouver" for e in reply.suggestions)


def test_every_fallback_ends_with_the_helplines(engine: Engine) -> None:
    reply = engine.respond("quelle est la recette de la pâte à crêpes ?")
    assert reply.status == FALLBACK
    assert reply.text.rstrip().endswith("(urgence) : appels gratuits.")
    for number in ("119", "3114", "3018", "17 ou 112"):
        assert number in reply.text.splitlines()[-1]


# "stage" alone was a did-you-mean until the seventeenth session's fit; since, the stage de 3e's
# theme is shown with its questions. None: a vague message that is one (conftest.VAGUE).
@pytest.mark.parametrize("text", ["à l'aide", None])
def test_every_did_you_mean_also_gives_the_helplines(engine: Engine, did_you_mean: str, text: str | None) -> None:
    """A "did you mean" is the bot not knowing what was asked: it may be a cry for help it
    did not read, so it carries the numbers as "I don't know" does."""
    reply = engine.respond(text or did_you_mean)
    assert reply.status == SUGGEST_STATUS and reply.suggestions
    assert all(number in reply.text for number in ("119", "3114", "3018", "17 ou 112"))


# "a l'aide" was a did-you-mean until the twenty-first session's fit (blind set 20 learnt), then
# the bot's help: whichever of the two it gets, a child who cries for help sees the numbers.
@pytest.mark.parametrize("text", ["à l'aide", "a l'aide", "aide", "help", "menu", "Que sais-tu faire ?"])
def test_help_asked_in_one_word_always_shows_the_helplines(engine: Engine, text: str) -> None:
    reply = engine.respond(text)
    assert all(number in reply.text for number in ("119", "3114", "3018", "17 ou 112")), reply.decided_by


# How the help answer ("aide", "menu", "que sais-tu faire ?") names each theme. It named 16 of
# 24 until the twenty-first session: a theme added to the FAQ must be added here and there.
NAMED_IN_HELP = {
    "securite": "urgences", "apres-3e": "après la 3e", "affelnet": "Affelnet", "stage-3e": "stage de 3e",
    "cio": "CIO", "bourses": "bourses", "stage-2nde": "stage de seconde", "apprentissage": "apprentissage",
    "handicap": "handicap", "parcoursup": "Parcoursup", "appel-orientation": "faire appel",
    "decrochage": "ne va plus à l'école", "devoirs-faits": "Devoirs faits", "oepre": "OEPRE", "pre": "PRE",
    "cordees": "Cordées de la réussite", "prepa-talents": "Prépas Talents", "jump-in-tech": "Jump In Tech",
    "classe-alpha": "classe Alpha", "afev": "AFEV", "cites-educatives": "cités éducatives",
    "petit-dejeuner": "petits-déjeuners", "entreprise": "IPE et FACE 94", "ecole-melies": "École Méliès",
}


def test_the_help_answer_names_every_theme_and_ends_with_the_helplines(engine: Engine) -> None:
    from bot import messages

    assert set(NAMED_IN_HELP) == set(engine.kb.topics) - {"chit-chat"}
    answer = engine.kb.entries["chit-chat-que-sais-tu-faire"].answer
    assert [topic for topic, name in NAMED_IN_HELP.items() if name not in answer] == []
    assert answer.rstrip().endswith(messages.HELPLINES_LINE)  # the line that ends every "I don't know"


def test_a_digit_that_is_no_number_is_read_as_a_message(engine: Engine) -> None:
    """"²" is a digit to Python (isdigit) but no number: read as a message, not picked."""
    reply = engine.respond("²")
    assert reply.status == FALLBACK and reply.decided_by != "choice-number"


@pytest.mark.parametrize("number", ["0", "2", "12", "17", "999"])
def test_a_bare_number_without_a_list_is_never_an_answer(engine: Engine, number: str) -> None:
    reply = engine.respond(number)
    assert reply.entry is None and reply.status == FALLBACK
    assert reply.decided_by == "choice-number" and "numéro" in reply.text
    assert all(n in reply.text for n in ("119", "3114", "3018", "17 ou 112"))  # as every fallback


@pytest.mark.parametrize(("number", "helpline"), [("119", "securite-enfance-danger"), ("112", "securite-urgence"),
                                                  ("0119", "securite-enfance-danger")])
def test_a_helpline_number_alone_gets_its_helpline_list_or_not(engine: Engine, number: str, helpline: str) -> None:
    """"119" typed alone: no list has 119 choices; the child who types it needs that line (the
    helpline entries' keywords name their numbers)."""
    from bot.understanding.engine import Conversation

    alone = engine.respond(number)
    assert alone.entry is not None and alone.entry.id == helpline and alone.decided_by == "helpline-number"
    assert number.lstrip("0") in alone.text and "3114" in alone.text
    conversation = Conversation()
    assert engine.respond("Le CIO c'est gratuit ?", conversation).choices
    after_a_list = engine.respond(number, conversation)
    assert after_a_list.entry is not None and after_a_list.entry.id == helpline


def test_a_number_past_the_list_says_which_numbers_can_be_chosen(engine: Engine) -> None:
    from bot.understanding.engine import Conversation

    conversation = Conversation()
    first = engine.respond("Le CIO c'est gratuit ?", conversation)
    assert first.choices
    past = engine.respond(str(len(first.choices) + 1), conversation)
    assert past.entry is None and f"entre 1 et {len(first.choices)}" in past.text
    assert "3114" in past.text
    picked = engine.respond("1", conversation)
    assert picked.entry is not None and picked.entry.id == first.choices[0].id


def test_adding_an_entry_changes_almost_no_other_answer(engine: Engine) -> None:
    """A new, well-formed entry with ten wordings must not upset the answers elsewhere (<= 1 %)."""
    from bot.knowledge.model import Topic
    from bot.knowledge.questions import load_questions

    new = Entry(
        "pass-culture-quest-ce", "pass-culture",
        (
            "Qu'est-ce que le pass Culture ?", "c koi le pass culture", "pass culture c'est quoi",
            "l'application pass Culture sert à quoi", "mon fils a 15 ans, a-t-il droit au pass culture ?",
            "comment activer le pass culture", "pass culture pour les jeunes", "what is the pass Culture",
            "le pass culture marche pour les livres et les concerts ?", "jsp cmt marche le pass culture",
        ),
        "Le pass Culture est une application du ministère de la Culture pour les jeunes.",
        ("https://pass.culture.fr",), __import__("datetime").date(2026, 12, 1),
    )
    kb = engine.kb
    grown = replace(
        kb,
        topics={**kb.topics, "pass-culture": Topic("pass-culture", "Pass Culture", (new.id,))},
        entries={**kb.entries, new.id: new},
    )
    bigger = engine.rebuilt(grown)
    questions = [q.text for path in ("knowledge/eval.yaml", "benchmarks/unseen_questions.yaml")
                 for q in load_questions(REPO / path)]

    def outcome(e: Engine, text: str) -> tuple[str, str | None]:
        reply = e.respond(text)
        return reply.status, reply.entry.id if reply.entry else None

    changed = [q for q in questions if outcome(engine, q) != outcome(bigger, q)]
    assert len(changed) <= 0.01 * len(questions), changed


def test_fit_rewrites_the_policy_from_the_faq(tmp_path: Path) -> None:
    """`fit` as a maintainer runs it, on a copy: a current policy, its figures said in French."""
    knowledge = _knowledge_copy(tmp_path)
    _add_a_wording(knowledge)
    assert "la FAQ a changé" in run_cli("check", "--knowledge", str(knowledge)).stdout
    result = run_cli("fit", "--knowledge", str(knowledge), timeout=1800)  # a net, not a speed test
    assert result.returncode == 0, result.stderr
    assert "Politique écrite dans" in result.stdout and "numéros d'aide" in result.stdout
    check = run_cli("check", "--knowledge", str(knowledge))
    assert check.returncode == 0 and "policy.yaml" not in check.stdout, check.stdout
    fitted = Policy.load(knowledge / POLICY_FILE, ENTRY_FEATURES, SAFETY_FEATURES, TOPIC_FEATURES)
    assert 0 < fitted.bars.suggest <= fitted.bars.answer <= 1.0 and fitted.topic_model is not None
    assert fitted.figures["helplines_pct"] > 90
    # What a fresh machine's first start reads instead of computing it, the new wording included.
    assert "Vecteurs de" in result.stdout and (knowledge / SHIPPED_DISTRESS).exists()
    with np.load(knowledge / SHIPPED_VECTORS, allow_pickle=False) as data:
        assert _key("ca veut dire quoi cio au juste") in data["keys"].astype("U24").tolist()


def test_fit_refuses_a_base_with_errors(tmp_path: Path) -> None:
    knowledge = _knowledge_copy(tmp_path)
    (knowledge / "faq" / "cio.yaml").write_text("topic: cio\nentries: [\n", encoding="utf-8")
    before = (knowledge / POLICY_FILE).read_text(encoding="utf-8")
    result = run_cli("fit", "--knowledge", str(knowledge))
    assert result.returncode == 1 and "check" in result.stderr
    assert (knowledge / POLICY_FILE).read_text(encoding="utf-8") == before


def test_a_broken_training_bank_is_reported_and_the_bot_still_answers(tmp_path: Path) -> None:
    knowledge = _knowledge_copy(tmp_path)
    (knowledge / "fit" / "ordinary_strong_words.yaml").write_text("messages:\n  - \"ok\n  - [\n", encoding="utf-8")
    check = run_cli("check", "--knowledge", str(knowledge))
    assert check.returncode == 1 and "fit/ordinary_strong_words.yaml:" in check.stdout, check.stdout
    asked = run_cli("ask", "--json", "--knowledge", str(knowledge), "c koi un cio")
    assert asked.returncode == 0 and '"id": "cio-quest-ce"' in asked.stdout, asked.stdout


# The folders of benchmarks/ no one has tuned on yet (one list, read by benchmarks/remove_blind_twins.py too).
STILL_BLIND = tuple(yaml.safe_load((REPO / "benchmarks" / "still_blind.yaml").read_text(encoding="utf-8"))
                    ["still_blind"])


def _twins_tool() -> ModuleType:
    """benchmarks/remove_blind_twins.py, which removes what the test below forbids: one notion of
    "identical" (its `plain`) for both."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("remove_blind_twins", REPO / "benchmarks" / "remove_blind_twins.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_the_twins_of_a_blind_set_are_removed_from_a_training_file_and_nothing_else() -> None:
    """benchmarks/remove_blind_twins.py: both layouts of the training files (items indented or
    not), comments and the other items kept, the header noting the sets checked."""
    tool = _twins_tool()
    blind = {tool.plain("C'est quoi, AFFELNET ?"), tool.plain("il a mes photos")}
    for indent in ("", "  "):
        text = (f"# Training set t0.\nquestions:\n{indent}# ---- affelnet ----\n"
                f"{indent}- q: c'est quoi affelnet\n{indent}  expect_topic: affelnet\n"
                f"{indent}- q: \"affelnet c'est quand\"\n{indent}  expect_topic: affelnet\n\n"
                f"{indent}- q: Il a mes photos !\n{indent}  expect: helpline\n{indent}  who: pupil\n")
        cleaned, removed = tool.without_twins(text, blind)
        assert removed == ["c'est quoi affelnet", "Il a mes photos !"]
        assert [q["q"] for q in yaml.safe_load(cleaned)["questions"]] == ["affelnet c'est quand"]
        assert "# ---- affelnet ----" in cleaned
        noted = tool.noted(cleaned, ["blind20", "blind21"])
        assert noted.startswith("# Training set t0.\n# Messages identical to one of blind20, blind21 were removed.\n")
        assert tool.noted(noted, ["blind20", "blind21"]) == noted


def test_the_fit_learns_the_listed_sets_and_never_a_blind_one() -> None:
    """knowledge/fit/sets.yaml lists sets already used in the work; the still-blind ones
    (STILL_BLIND) must never be there, or they would measure nothing."""
    from bot.knowledge.loader import load_knowledge
    from bot.knowledge.questions import SETS_FILE, load_questions
    from bot.knowledge.yaml_source import load_yaml
    from bot.maintainers.fit import read_sets

    listing = REPO / "knowledge" / "fit" / SETS_FILE
    paths = load_yaml(listing)["sets"]
    assert STILL_BLIND and not [p for p in paths if any(f"/{name}/" in p for name in STILL_BLIND)]
    assert all((listing.parent / p).resolve().exists() for p in paths)
    kb, _ = load_knowledge(REPO / "knowledge", check_eval=False)
    said: list[str] = []
    items = read_sets(REPO / "knowledge", kb, progress=said.append)
    assert not said  # every set read
    # The sets written for the fit (written/) hold none of their messages: the fit would have
    # learnt the very question. (Older sets share a few short ones, "affelnet", "bourse college".)
    plain = _twins_tool().plain
    blind = {plain(q.text) for name in STILL_BLIND
             for path in (REPO / "benchmarks" / name).glob("*.yaml") for q in load_questions(path)}
    written = [q.text for path in (listing.parent / "written").rglob("*.yaml") for q in load_questions(path)]
    assert len(blind) > 500 and len(written) > 900
    assert not [text for text in written if plain(text) in blind]
    by_text = {item.text: item for item in items}
    assert len(items) > 1500
    assert any(i.right and not i.by_topic for i in items)  # eval.yaml: the entry is known
    assert any(i.by_topic and i.right_topics and not i.right for i in items)  # blind sets: the theme only
    assert any(i.distress for i in items) and any(i.ordinary for i in items)
    declines = [i for i in items if not i.right and not i.right_topics and not i.distress and not i.ordinary]
    assert len(declines) > 200
    assert len(by_text) == len(items)  # a message in two sets is learnt once
    # Each message knows the set it came from: the fit holds each set out whole.
    assert {Path(i.source).name for i in items} == {Path(p).name for p in paths}


def test_the_fit_holds_each_round_of_sets_out_whole_in_balanced_folds() -> None:
    from bot.maintainers.fit import FOLDS, Labelled, round_of, set_folds

    # Rounds are folders; a round's sets (one brief, written side by side) share a fold.
    sizes = {"r1/a.yaml": 300, "r1/b.yaml": 180, "r2/c.yaml": 330, "r3/d.yaml": 280, "r4/e.yaml": 120,
             "r4/f.yaml": 100, "r5/g.yaml": 170, "r5/h.yaml": 150, "r6/i.yaml": 140, "r7/j.yaml": 100,
             "r8/k.yaml": 84}
    items = [Labelled(f"{name} {n}", from_set=True, source=name) for name, size in sizes.items() for n in range(size)]
    folds = set_folds(items)
    assert set(folds) == set(sizes) and set(folds.values()) == set(range(FOLDS))
    assert folds["r1/a.yaml"] == folds["r1/b.yaml"] and folds["r4/e.yaml"] == folds["r4/f.yaml"]
    assert folds["r5/g.yaml"] == folds["r5/h.yaml"]
    rounds: dict[str, int] = {}
    for name, size in sizes.items():
        rounds[round_of(name)] = rounds.get(round_of(name), 0) + size
    load = [sum(sizes[name] for name, fold in folds.items() if fold == f) for f in range(FOLDS)]
    assert max(load) - min(load) <= max(rounds.values()) // 2  # no fold twice another's size
    assert folds["r1/a.yaml"] != folds["r2/c.yaml"]  # the two largest rounds apart


def test_a_missing_set_is_said_and_skipped(tmp_path: Path) -> None:
    from bot.knowledge.loader import load_knowledge
    from bot.knowledge.questions import SETS_FILE
    from bot.maintainers.fit import read_sets

    knowledge = _knowledge_copy(tmp_path)
    (knowledge / "fit" / "renamed.yaml").write_text(
        "questions:\n  - q: \"c'est quoi un cio\"\n    expect: cio-ancien-nom\n"
        "  - q: \"où est le cio\"\n    expect_topic: theme-disparu\n"
        "  - q: \"cio gratuit ?\"\n    expect: cio-quest-ce\n", encoding="utf-8")
    (knowledge / "fit" / SETS_FILE).write_text("sets:\n  - absent.yaml\n  - renamed.yaml\n", encoding="utf-8")
    kb, _ = load_knowledge(knowledge, check_eval=False)
    said: list[str] = []
    items = read_sets(knowledge, kb, progress=said.append)
    assert len(said) == 2 and "absent.yaml" in said[0] and "2 question(s) ignorée(s)" in said[1], said
    # An expected entry or theme renamed since is left out, never learnt as a message to decline.
    assert [(i.text, i.right) for i in items] == [("cio gratuit ?", frozenset({"cio-quest-ce"}))]


def test_the_sets_messages_are_examples_with_their_theme(tmp_path: Path) -> None:
    """What families wrote votes on a message's theme: an entry stands for its theme, a
    message to decline for none; a distress set's messages are kept with their kind (the
    neighbours of distress); `check` names a listed set that is missing."""
    from bot.knowledge.loader import load_knowledge
    from bot.knowledge.questions import SETS_FILE
    from bot.understanding.policy import HELPLINE_EXAMPLE, ORDINARY_EXAMPLE, ContrastBanks

    knowledge = _knowledge_copy(tmp_path)
    (knowledge / "fit" / "mine.yaml").write_text(
        "questions:\n  - q: \"mon fils veut un rdv avec la psy\"\n    expect: cio-rendez-vous\n"
        "  - q: \"stage chez tonton ok ?\"\n    expect_topic: [stage-3e, entreprise]\n"
        "  - q: \"prix du pass navigo\"\n    expect: decline\n"
        "  - q: \"jveux plus vivre\"\n    expect: helpline\n"
        "  - q: \"ma mere va me tuer mdr\"\n    expect: ordinary\n"
        "  - q: \"theme renamed\"\n    expect_topic: theme-disparu\n", encoding="utf-8")
    (knowledge / "fit" / SETS_FILE).write_text("sets:\n  - mine.yaml\n  - absent.yaml\n", encoding="utf-8")
    kb, _ = load_knowledge(knowledge, check_eval=False)
    assert ContrastBanks.load(knowledge, kb).examples == (
        ("mon fils veut un rdv avec la psy", "cio"), ("stage chez tonton ok ?", "stage-3e"),
        ("stage chez tonton ok ?", "entreprise"), ("prix du pass navigo", ""),
        ("jveux plus vivre", HELPLINE_EXAMPLE), ("ma mere va me tuer mdr", ORDINARY_EXAMPLE))
    assert ContrastBanks.load(knowledge, kb).languages == ()  # none says it is in another language
    assert ContrastBanks.load(knowledge).examples == ()  # without a base, no theme to give
    check = run_cli("check", "--knowledge", str(knowledge))
    assert "sets.yaml:1: avertissement : jeu de questions introuvable" in check.stdout and "absent.yaml" in check.stdout
    # A set with a broken question is left out whole, as the fit does, and check says so.
    (knowledge / "fit" / "mine.yaml").write_text(
        "questions:\n  - q: \"stage chez tonton ok ?\"\n    expect_topic: stage-3e\n  - q: sans attendu\n",
        encoding="utf-8")
    assert ContrastBanks.load(knowledge, kb).examples == ()
    assert "jeu de questions illisible, laissé de côté" in run_cli("check", "--knowledge", str(knowledge)).stdout


def test_the_sets_messages_in_another_language_teach_the_detector_their_words(tmp_path: Path) -> None:
    """A message that says its language (`lang: pt`; a code the bot does not speak is left out) is
    kept with it, and read back from the memo at the next start. A word two of them hold, and no
    French text, is then that language's: "horárioz" (made up) alone is Portuguese once two
    messages of the sets say so. A word one message holds, or that a French message of the sets
    holds too ("sixièmez": families mix French school words in), says nothing."""
    from bot.knowledge.loader import load_knowledge
    from bot.knowledge.questions import SETS_FILE
    from bot.understanding.policy import ContrastBanks

    knowledge = _knowledge_copy(tmp_path)
    before, _ = Engine.load(knowledge)
    labelled = (("horárioz do CIO ?", "pt"), ("CIO horárioz sixièmez", "pt"), ("cio zorgluba sixièmez", "pt"))
    (knowledge / "fit" / "mine.yaml").write_text(
        "questions:\n" + "".join(f"  - q: \"{text}\"\n    expect: cio-rendez-vous\n    lang: {lang}\n"
                                 for text, lang in labelled) +
        "  - q: \"horaires du cio\"\n    expect: cio-rendez-vous\n    lang: fr\n"
        "  - q: \"cio klingon\"\n    expect: cio-rendez-vous\n    lang: tlh\n"
        "  - q: \"mon fils en sixièmez\"\n    expect: cio-rendez-vous\n", encoding="utf-8")
    (knowledge / "fit" / SETS_FILE).write_text("sets:\n  - mine.yaml\n", encoding="utf-8")
    kb, _ = load_knowledge(knowledge, check_eval=False)
    assert ContrastBanks.load(knowledge, kb).languages == labelled  # French and unknown codes: not kept
    cache = tmp_path / "cache"
    for _ in range(2):  # the first start reads the sets, the second the memo
        engine, _ = Engine.load(knowledge, cache)
        assert engine.banks.languages == labelled
        assert engine.detector.detect("horárioz ?") == "pt"
        assert engine.detector._word_language.get("horarioz") == "pt"
        assert "zorgluba" not in engine.detector._word_language  # one message only
        assert engine.detector._word_language.get("sixiemez") is None  # two pt messages, and a French one
    assert "horarioz" not in before.detector._word_language


@pytest.mark.parametrize("listing", ["sets: mine.yaml\n", "sets:\n  - \"a\\0b\"\n", "sets: [12]\n", "sets: [\n"])
def test_a_broken_list_of_sets_never_stops_the_bot(tmp_path: Path, listing: str) -> None:
    from bot.knowledge.questions import SETS_FILE
    from bot.understanding.policy import ContrastBanks

    knowledge = _knowledge_copy(tmp_path)
    (knowledge / "fit" / SETS_FILE).write_text(listing, encoding="utf-8")
    engine, _ = Engine.load(knowledge)
    assert engine.banks.examples == () and engine.respond("c koi un cio").status != FALLBACK
    assert ContrastBanks.problems(knowledge)  # check says what is wrong


def test_the_nearest_examples_vote_for_their_theme(engine: Engine) -> None:
    """A message next to what families wrote about a theme reads as that theme, also when it
    is far from the FAQ's wordings; an example to decline votes for no theme."""

    story = "ma grande a raté son année, elle veut faire coiffure, on fait comment"
    vote = ENTRY_FEATURES.index("example_vote")

    def read(examples: tuple[tuple[str, str], ...]) -> Reading:
        return Engine(engine.kb, engine.policy, engine.signals.semantic.cache,
                      replace(engine.banks, examples=examples)).understand(story).reading

    # Small talk is no candidate of its own for this story: voted for, it becomes one.
    assert "chit-chat" not in {e.topic for e in read(()).entries}
    for examples, expected in (((story, "chit-chat"),), 1.0), (((story, ""),), 0.0):
        voted = read(examples)
        small_talk = [k for k, e in enumerate(voted.entries) if e.topic == "chit-chat"]
        assert bool(small_talk) == (expected == 1.0)
        assert all(voted.rows[k, vote] == expected for k in small_talk)
        assert all(voted.rows[k, vote] == 0.0 for k, e in enumerate(voted.entries) if e.topic != "chit-chat")


def test_the_distress_sets_are_neighbours_for_distress_and_never_vote_on_a_theme(engine: Engine) -> None:
    """A message next to a cry for help that families wrote reads as closer to distress than
    next to the same words marked ordinary, or with no such example; neither kind votes for a
    theme. (With the real encoder: the message is its own nearest neighbour.)"""
    from bot.understanding.policy import HELPLINE_EXAMPLE, ORDINARY_EXAMPLE

    message = "mon grand frere dit qu'il va tout arreter pour de bon, il donne ses affaires"
    near = SAFETY_FEATURES.index("near_distress")
    vote = ENTRY_FEATURES.index("example_vote")

    def read(examples: tuple[tuple[str, str], ...]) -> Reading:
        return Engine(engine.kb, engine.policy, engine.signals.semantic.cache,
                      replace(engine.banks, examples=examples)).understand(message).reading

    alone, helpline, ordinary = read(()), read(((message, HELPLINE_EXAMPLE),)), read(((message, ORDINARY_EXAMPLE),))
    assert helpline.safety_row[near] > alone.safety_row[near] >= ordinary.safety_row[near]
    assert helpline.safety_row[near] > 0.1
    for reading in (helpline, ordinary):
        assert not reading.rows[:, vote].any()
    # Beside examples that vote: the theme examples still vote, and the distress one still counts.
    mixed = read(((message, HELPLINE_EXAMPLE), (message, "stage-3e"), ("prix du pass navigo", "")))
    assert mixed.rows[:, vote].any()
    assert mixed.safety_row[near] >= helpline.safety_row[near] - 1e-9


def test_an_answer_that_answers_another_ask_gives_way_to_the_theme(engine: Engine) -> None:
    """'c'est où ?' must not be answered with 'c'est quoi' when the theme has the 'where' entry."""
    reply = engine.respond("les cordées de la réussite c ou")
    offered = {reply.entry.id if reply.entry else None, *(e.id for e in reply.choices)}
    assert reply.decided_by != "answer" or reply.entry.id == "cordees-reussite-94", reply.decided_by
    assert "cordees-reussite-94" in offered, reply.text


def test_the_fit_gives_the_figures_of_other_languages_apart() -> None:
    """Most distress messages `fit` reads are French: those of other languages are counted apart,
    so that a bar good for French and poor for them shows."""
    from bot.maintainers.fit import Outcome, figures

    def read(p: float, distress: bool, foreign: bool) -> Outcome:
        return Outcome(0.0, 0.0, False, 0.0, False, False, False, False, True, False,
                       p, p, 0.0, 0.0, distress, not distress, foreign)

    outs = ([read(0.9, True, False)] * 90 + [read(0.9, True, True)] * 6 + [read(0.1, True, True)] * 4
            + [read(0.1, False, False)] * 50 + [read(0.9, False, True)] * 1 + [read(0.1, False, True)] * 9)
    found = figures(outs, replace(POLICY.bars, safety=0.5, safety_part=0.5))
    assert found["helplines_pct"] == 96.0 and found["foreign_distress"] == 10
    assert found["foreign_helplines_pct"] == 60.0 and found["foreign_false_alarms_pct"] == 10.0
