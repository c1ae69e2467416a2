"""The numbers that decide, in one object: fitted by `run_bot.py fit`, kept in knowledge/policy.yaml.

Three small models turn the signals into probabilities:
- the entry model: for each candidate entry, the probability that it is the right one;
- the theme model: for each theme among the candidates, the probability that it holds the
  right entry (it learns from messages whose theme only is known: the sets written blind);
- the safety model: for a message, the probability that it calls for the helplines.
Each has one small hidden layer (a logistic model is the same with none).
Then four bars, chosen by the fit from held-out data, decide: answer, theme overview,
suggestions, or "I don't know"; and helplines. Nothing here is tuned by hand.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from bot.knowledge.loader import Problem, expectations
from bot.knowledge.model import FRENCH, LANGUAGES, KnowledgeBase
from bot.knowledge.questions import FIT_DIR, SETS_FILE, listed_sets, load_questions
from bot.knowledge.yaml_source import YamlError, safe_load
from bot.understanding.projection import PROJECTION_FILE, load_projection
from bot.understanding.reading_memo import ReadingMemo

POLICY_FILE = "policy.yaml"
DECLINES_FILE = "declines.yaml"
ORDINARY_FILE = "ordinary_strong_words.yaml"


def read_bank(root: Path, name: str) -> tuple[tuple[str, ...], Problem | None]:
    """The messages of one bank of knowledge/fit/, and what is wrong with the file if anything.

    A broken bank leaves the bot running without it, but it weakens the helplines and the
    declines: `check` says so.
    """
    path = root / FIT_DIR / name
    shown = f"{FIT_DIR}/{name}"
    if not path.exists():
        return (), Problem(shown, 1, "fichier manquant : le bot déclinera et filtrera moins bien", is_error=False)
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", 0) + 1
        return (), Problem(shown, line, f"YAML invalide : {getattr(exc, 'problem', exc)}")
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list):
        return (), Problem(shown, 1, "« messages » doit être une liste de textes")
    return tuple(str(m) for m in messages if m), None


# The theme of an example from a distress set: a cry for help, or an ordinary message with strong
# words. Neither votes on a message's theme; both are neighbours when the bot weighs distress.
HELPLINE_EXAMPLE = "!helpline"
ORDINARY_EXAMPLE = "!ordinary"
DISTRESS_KINDS = (HELPLINE_EXAMPLE, ORDINARY_EXAMPLE)
_EXAMPLE_KIND = {("decline",): "", ("helpline",): HELPLINE_EXAMPLE, ("ordinary",): ORDINARY_EXAMPLE}


def read_examples(root: Path, kb: KnowledgeBase) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """The messages of the question sets of knowledge/fit/sets.yaml whose theme is known, each
    with its theme ("" for a message to decline), and those of the distress sets (HELPLINE_EXAMPLE,
    ORDINARY_EXAMPLE); and, apart, those that say they are written in another language than
    French (`lang: pt`), with it: their words teach the language detector. A set that cannot be
    read is left out (`check` and `fit` say so)."""
    found: dict[tuple[str, str], None] = {}
    languages: dict[tuple[str, str], None] = {}
    for path in listed_sets(root)[0]:
        try:  # libyaml, not load_questions' line-keeping loader: this runs at every start
            data = safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        items = data.get("questions") if isinstance(data, dict) else None
        if not isinstance(items, list) or not all(
                isinstance(item, dict) and "q" in item and (item.get("expect") or item.get("expect_topic"))
                for item in items):
            continue  # as the fit does: a set with a broken question is left out whole
        for item in items:
            if not isinstance(item["q"], str):
                continue
            lang = item.get("lang")
            if lang in LANGUAGES and lang != FRENCH:  # a code the bot does not speak: left out
                languages[(item["q"], lang)] = None
            expected = expectations(item.get("expect"))
            topics = [t for t in expectations(item.get("expect_topic")) if t in kb.topics] or \
                [kb.entries[i].topic for i in expected if i in kb.entries]
            for topic in [_EXAMPLE_KIND[expected]] if expected in _EXAMPLE_KIND else topics:
                found[(item["q"], topic)] = None
    return tuple(found), tuple(languages)


def _examples_key(root: Path, kb: KnowledgeBase) -> str:
    """What the examples depend on: the listed sets' bytes, and each entry's theme."""
    digest = hashlib.blake2b(digest_size=16)
    for path in listed_sets(root)[0]:
        try:
            content = path.read_bytes()
        except (OSError, ValueError):
            content = b"-"
        digest.update(str(path).encode("utf-8", "surrogateescape") + b"\0" + content)
    digest.update(repr(sorted((e.id, e.topic) for e in kb.entries.values())).encode("utf-8"))
    digest.update(repr(sorted(kb.topics)).encode("utf-8"))
    return digest.hexdigest()


@dataclass(frozen=True)
class ContrastBanks:
    """Messages the bot must decline, and ordinary ones with strong words (knowledge/fit/);
    and messages written as families write them: the question sets the fit learns from. Those
    with a theme (or to decline) vote on a message's theme; all of them, the distress sets'
    (DISTRESS_KINDS) too, are neighbours when the bot weighs distress."""

    declines: tuple[str, ...] = ()
    ordinary: tuple[str, ...] = ()
    examples: tuple[tuple[str, str], ...] = ()  # (message, theme, "" to decline, or a distress kind)
    languages: tuple[tuple[str, str], ...] = ()  # (message, its language): those not in French

    @classmethod
    def load(cls, root: Path, kb: KnowledgeBase | None = None, memo: ReadingMemo | None = None) -> ContrastBanks:
        """The banks; with a memo, the examples as read at the last start when neither the sets
        nor the base's themes have changed since (parsing 20 sets takes a third of a second)."""
        examples: tuple[tuple[str, str], ...] = ()
        languages: tuple[tuple[str, str], ...] = ()
        if kb is not None and memo is None:
            examples, languages = read_examples(root, kb)
        elif kb is not None:
            read = memo.get("examples", _examples_key(root, kb),
                            lambda _: [[list(row) for row in rows] for rows in read_examples(root, kb)])
            examples, languages = (tuple((str(text), str(label)) for text, label in rows) for rows in read)
        return cls(read_bank(root, DECLINES_FILE)[0], read_bank(root, ORDINARY_FILE)[0], examples, languages)

    @staticmethod
    def problems(root: Path) -> list[Problem]:
        found = [read_bank(root, name)[1] for name in (DECLINES_FILE, ORDINARY_FILE)]
        paths, listing = listed_sets(root)
        shown = f"{FIT_DIR}/sets.yaml"
        if listing:
            found.append(Problem(shown, 1, listing, is_error=False))
        for path in paths:
            try:
                load_questions(path)
            except FileNotFoundError:
                found.append(Problem(shown, 1, f"jeu de questions introuvable : {path}", is_error=False))
            except (OSError, YamlError, ValueError, KeyError, TypeError, AttributeError) as exc:
                found.append(Problem(shown, 1, f"jeu de questions illisible, laissé de côté : {path} ({exc})",
                                     is_error=False))
        return [problem for problem in found if problem is not None]


@dataclass(frozen=True)
class Model:
    """A probability from standardised features: logistic, or with one small hidden layer (tanh)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]  # one per hidden unit, or one per feature without a hidden layer
    bias: float
    hidden: tuple[tuple[float, ...], ...] = ()  # one row per feature, one column per unit
    hidden_bias: tuple[float, ...] = ()

    def probability(self, rows: np.ndarray) -> np.ndarray:
        z = (rows - np.asarray(self.mean)) / np.asarray(self.scale)
        if self.hidden:
            z = np.tanh(z @ np.asarray(self.hidden) + np.asarray(self.hidden_bias))
        out = z @ np.asarray(self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(out, -30, 30)))

    def as_dict(self) -> dict:
        data = {
            "features": list(self.features),
            "mean": _rounded(self.mean),
            "scale": _rounded(self.scale),
        }
        if self.hidden:
            data["hidden"] = [_rounded(row) for row in self.hidden]
            data["hidden_bias"] = _rounded(self.hidden_bias)
        data["weights"] = _rounded(self.weights)
        data["bias"] = round(self.bias, 6)
        return data

    @classmethod
    def from_dict(cls, data: dict, expected: tuple[str, ...]) -> Model:
        features = tuple(str(f) for f in data["features"])
        if features != expected:
            raise ValueError(f"features {list(features)} au lieu de {list(expected)}")
        model = cls(
            features,
            _floats(data["mean"]),
            _floats(data["scale"]),
            _floats(data["weights"]),
            float(data["bias"]),
            tuple(_floats(row) for row in data.get("hidden") or ()),
            _floats(data.get("hidden_bias") or ()),
        )
        units = len(model.hidden_bias) if model.hidden else len(features)
        if not (len(model.mean) == len(model.scale) == len(features)) or len(model.weights) != units:
            raise ValueError("mean, scale et weights n'ont pas la taille attendue")
        if model.hidden and (len(model.hidden) != len(features) or any(len(r) != units for r in model.hidden)):
            raise ValueError("hidden n'a pas la taille attendue")
        if any(s <= 0 or not math.isfinite(s) for s in model.scale):
            raise ValueError("scale doit être positif")
        return model


def _rounded(values: tuple[float, ...]) -> list[float]:
    return [round(float(v), 6) for v in values]


def _floats(values: object) -> tuple[float, ...]:
    if not isinstance(values, list | tuple):
        raise ValueError("une liste de nombres est attendue")
    return tuple(float(v) for v in values)


@dataclass(frozen=True)
class Bars:
    answer: float  # the best entry's probability to answer with it
    theme: float  # the best theme's probability to show its overview and entries
    suggest: float  # the best entry's probability to offer "did you mean"
    safety: float  # the safety model's probability to show the helplines
    # Below that bar but above this one, whatever the reply, it ends with the helplines' numbers.
    safety_line: float = 1.01
    # The safety bar for a message holding a trigger phrase of the FAQ (lower: the phrase was
    # written for distress; idioms like "ma mère va me tuer" keep it above zero). None: `safety`.
    safety_trigger: float | None = None
    # The bar for one sentence of a longer message read alone (never below `safety`). None: `safety`.
    safety_part: float | None = None
    # Under every entry bar, the best theme's probability to offer that theme's questions ("did
    # you mean", theme first) rather than "I don't know". 1.01 (a policy from before it): never.
    theme_suggest: float = 1.01

    def helpline_bar(self, trigger: bool, part: bool = False) -> float:
        if trigger and self.safety_trigger is not None:
            return self.safety_trigger
        return self.part_bar() if part else self.safety

    def part_bar(self) -> float:
        return self.safety_part if self.safety_part is not None else self.safety


@dataclass(frozen=True)
class Policy:
    entry_model: Model
    safety_model: Model
    bars: Bars
    model_version: str = ""
    faq_fingerprint: str = ""
    faq_questions: int = 0
    fitted_on: str = ""
    figures: dict = field(default_factory=dict)
    # The messages of knowledge/fit/ it learnt from ("" in a policy from before it: not compared).
    training_fingerprint: str = ""
    topic_model: Model | None = None  # None (a policy from before it): the entries' probabilities added up

    def as_dict(self) -> dict:
        return {
            "fitted_on": self.fitted_on,
            "model_version": self.model_version,
            "faq_questions": self.faq_questions,
            "faq_fingerprint": self.faq_fingerprint,
            **({"training_fingerprint": self.training_fingerprint} if self.training_fingerprint else {}),
            "bars": {k: round(v, 4) for k, v in self.bars.__dict__.items() if v is not None},
            "figures": self.figures,
            "entry_model": self.entry_model.as_dict(),
            "safety_model": self.safety_model.as_dict(),
            **({"topic_model": self.topic_model.as_dict()} if self.topic_model else {}),
        }

    def save(self, path: Path) -> None:
        header = (
            "# Écrit par « python run_bot.py fit » : ne pas modifier à la main.\n"
            "# Les probabilités et les seuils qui décident des réponses, appris sur la FAQ\n"
            "# (chaque question posée à un index construit sans elle) et sur knowledge/fit/.\n"
        )
        text = yaml.safe_dump(self.as_dict(), allow_unicode=True, sort_keys=False, width=100)
        path.write_text(header + text, encoding="utf-8")

    @classmethod
    def load(cls, path: Path, entry_features: tuple[str, ...], safety_features: tuple[str, ...],
             topic_features: tuple[str, ...]) -> Policy:
        data = safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("le fichier ne contient pas de politique")
        bars = data["bars"]
        return cls(
            entry_model=Model.from_dict(data["entry_model"], entry_features),
            safety_model=Model.from_dict(data["safety_model"], safety_features),
            bars=Bars(*(float(bars[name]) for name in ("answer", "theme", "suggest", "safety")),
                      float(bars.get("safety_line", 1.01)),
                      float(bars["safety_trigger"]) if "safety_trigger" in bars else None,
                      float(bars["safety_part"]) if "safety_part" in bars else None,
                      float(bars.get("theme_suggest", 1.01))),
            model_version=str(data.get("model_version", "")),
            faq_fingerprint=str(data.get("faq_fingerprint", "")),
            faq_questions=int(data.get("faq_questions", 0)),
            fitted_on=str(data.get("fitted_on", "")),
            training_fingerprint=str(data.get("training_fingerprint") or ""),
            figures=dict(data.get("figures") or {}),
            topic_model=Model.from_dict(data["topic_model"], topic_features) if "topic_model" in data else None,
        )


def cautious(entry_features: tuple[str, ...], safety_features: tuple[str, ...]) -> Policy:
    """Used when knowledge/policy.yaml is missing or broken: never sure enough to answer.

    The bot then suggests the closest entries and keeps the helplines found by trigger
    phrases; `check` says why, and `fit` writes a real policy.
    """
    def flat(features: tuple[str, ...], weight_of: dict[str, float]) -> Model:
        n = len(features)
        return Model(features, (0.0,) * n, (1.0,) * n, tuple(weight_of.get(f, 0.0) for f in features), -3.0)

    return Policy(
        entry_model=flat(entry_features, {"lex": 3.0, "cos": 3.0}),
        safety_model=flat(safety_features, {"trigger": 10.0}),
        bars=Bars(answer=1.01, theme=1.01, suggest=0.05, safety=0.5),
    )


def fingerprint(kb: KnowledgeBase) -> tuple[str, int]:
    """A digest of every entry's id and wordings (questions, translated titles): what the fit learnt from."""
    digest = hashlib.sha256()
    count = 0
    for entry in sorted(kb.entries.values(), key=lambda e: e.id):
        digest.update(entry.id.encode())
        for wording in (*entry.questions, *(t.title for t in entry.translations.values())):
            digest.update(b"\0" + wording.encode())
            count += 1
    return digest.hexdigest()[:16], count


def training_fingerprint(root: Path) -> str:
    """A digest of the files the fit learns from besides the FAQ: the two banks of knowledge/fit/,
    its list of sets and each set listed. Read as bytes (a few milliseconds; parsing them would
    cost a second at every start), line ends made alike (a clone that writes them "\r\n" is not
    a change); any other edit counts, a comment too. A file missing or unreadable counts as such."""
    digest = hashlib.sha256()
    sets, _ = listed_sets(root)
    for path in (root / FIT_DIR / DECLINES_FILE, root / FIT_DIR / ORDINARY_FILE, root / FIT_DIR / SETS_FILE, *sets):
        try:
            data = path.read_bytes().replace(b"\r\n", b"\n")
        except OSError:
            data = b"\0missing"
        digest.update(path.name.encode("utf-8", "surrogateescape") + b"\0" + len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()[:16]


def axes_of(model_version: str) -> str:
    """The axes an encoder's version names (`ProjectedEncoder`): "" for the full vectors."""
    at = model_version.find("+axes")
    return model_version[at:] if at >= 0 else ""


def load_policy(
    root: Path, kb: KnowledgeBase, entry_features: tuple[str, ...], safety_features: tuple[str, ...],
    topic_features: tuple[str, ...], axes: str | None = None,
) -> tuple[Policy | None, list[Problem]]:
    """knowledge/policy.yaml, with what a maintainer should know about it (missing, broken, stale).
    `axes`: those of the vectors the policy will read (`axes_of` an encoder's version); None: the
    knowledge folder's, read here."""
    path = root / POLICY_FILE
    shown = POLICY_FILE
    if not path.exists():
        return None, [Problem(shown, 1, "fichier manquant : le bot ne fera que proposer des questions "
                                        "proches ; lancez « python run_bot.py fit »", is_error=False)]
    try:
        policy = Policy.load(path, entry_features, safety_features, topic_features)
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        return None, [Problem(shown, 1, f"politique illisible ({exc}) : relancez « python run_bot.py fit »")]
    if axes is None:  # the caller has not read them: the folder's
        projection = load_projection(root)[0]
        axes = projection.suffix if projection else ""
    if axes_of(policy.model_version) != axes:
        message = (
            f"calculée sur d'autres axes des vecteurs que ceux de knowledge/{PROJECTION_FILE} (manquant, "
            f"illisible ou refait depuis le calibrage du {policy.fitted_on or 'date inconnue'}) : "
            "relancez « python run_bot.py fit »"
        )
        return policy, [Problem(shown, 1, message, is_error=False)]
    digest, count = fingerprint(kb)
    if digest != policy.faq_fingerprint:
        message = (
            f"la FAQ a changé depuis le dernier calibrage ({policy.fitted_on or 'date inconnue'}, "
            f"{policy.faq_questions} questions ; {count} aujourd'hui) : relancez « python run_bot.py fit »"
        )
        return policy, [Problem(shown, 1, message, is_error=False)]
    if policy.training_fingerprint and policy.training_fingerprint != training_fingerprint(root):
        message = (
            f"les messages d'apprentissage (les banques de knowledge/{FIT_DIR}/, les jeux de {FIT_DIR}/{SETS_FILE}) "
            f"ont changé depuis le dernier calibrage ({policy.fitted_on or 'date inconnue'}) : "
            "relancez « python run_bot.py fit »"
        )
        return policy, [Problem(shown, 1, message, is_error=False)]
    return policy, []
