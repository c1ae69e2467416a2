"""Which language to answer in, and the fixed messages in that language.

French is the default and the reference. A message switches the reply to another language
only when that is clear: Arabic or Chinese script, or a Latin-script message that the
detector (`py3langid`, its model inside the package) gives to English, Portuguese, Spanish
or Turkish with high confidence once the FAQ's own names ("Jump In Tech", "CIO") are set
aside. The Telegram client's language and the conversation's language lower that bar; a
French message in SMS spelling ("slt jcherch 1 stag d 3em") stays French.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import lzma
import os
import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import yaml

from bot import messages
from bot.knowledge.loader import Problem
from bot.knowledge.model import FRENCH, LANGUAGES
from bot.knowledge.yaml_source import safe_load
from bot.understanding import npz_blocks

SUPPORTED = LANGUAGES
NAMES = {
    "fr": "Français", "en": "English", "ar": "العربية", "pt": "Português",
    "es": "Español", "tr": "Türkçe", "zh": "中文",
}
RIGHT_TO_LEFT = frozenset({"ar"})
LATIN_DETECTED = ("fr", "en", "pt", "es", "tr")
SURE = 0.9  # the detector's probability to switch on its own...
MIN_WORDS = 3  # ...on a message of at least this many words (names of the FAQ set aside)
CLIENT_HINTED = 0.7  # the probability enough when the Telegram client is set to that language
CURRENT = 0.5  # ...when the conversation is already in that language
FRENCH_WORDS_KEEP = 2  # French words that keep a message French when it has none of another language
# The detector's probability that leaves no doubt: then two words, none of them French, are enough
# ("What is affelnet?"); and a question set's message that says no language, read so, is not
# taken as French (such messages once taught that "what" and "is" are French words).
PLAINLY_OTHER = 0.99
LABELLED_MIN = 2  # messages of a language that must hold a word before it is that language's
MESSAGES_FILE = Path("i18n") / "messages.yaml"
# Names every language writes the same way: they say nothing of the message's language.
NEUTRAL_WORDS = (
    "cio", "cios", "jump", "in", "tech", "prepa", "prépa", "talents", "affelnet", "parcoursup", "oepre",
    "afev", "pre", "ulis", "aesh", "mdph", "pap", "pps", "cap", "bac", "pro", "melies", "méliès", "alpha",
    "ina", "ipe", "face", "rep", "qpv", "psy", "en", "stage", "collège", "college", "lycée", "lycee",
    "3e", "3eme", "3ème", "seconde", "2nde", "brevet", "cordées", "cordees", "ok", "svp", "stp",
)

# Arabic written in Latin letters ("arabizi"): digits stand for sounds Latin lacks (3 ain, 7 ha,
# 9 qaf: "kifach nl9a patron", "ch7al"). French SMS uses digits too ("3eme", "3ème3", "2main",
# "3D", "3mois", "19h30", "mp3"), but not between two letters; so a message is Arabic with two
# words holding a digit between letters, or one word with such a digit (or starting with one)
# and one common word of Maghrebi Arabic, or two common words ("wach kayn cio f vitry"; one
# alone can be French: "Bach").
_DIGIT_BETWEEN = re.compile(r"[a-z][379][a-z]")
_DIGIT_FIRST = re.compile(r"[379][a-z]{2,}")
ARABIZI_WORDS = frozenset({
    "kifach", "kifash", "kifech", "bghit", "bghina", "wach", "wash", "dyal", "dial", "chno", "chnou",
    "bzaf", "bezzaf", "mzyan", "wlad", "weldi", "bnti", "khouya", "daba", "ghadi", "kayn", "makaynch",
    "nkhdem", "nkhdemch", "ndir", "bach", "walakin", "hadchi", "smahli", "chkoun", "chkon", "nta",
    "wakha", "chhal", "kifah",  # not "rani", "mazal", "raki": first names, or French words
})
# French SMS glues a number to its unit or rank ("3eme", "3ans", "9mois", "7mars"): not arabizi.
_FRENCH_NUMBER = re.compile(r"[379](?:eme|ieme|ans?|mois|jours?|semaines?|heures?|min|"
                            r"janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre)")
# A word in Arabic script: a run of its letters and marks (a shadda or a vowel mark inside a word,
# "محمّد", must not cut it in two).
_ARABIC_WORD = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]+")

# The installed version, whose model the compact copy is made from: another one makes a new copy.
LANGID_VERSION = f"py3langid-{importlib.metadata.version('py3langid')}"
logger = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_LATIN_ONLY = re.compile(r"[^A-Za-zÀ-ÿ]+")
# Words in quotes are someone else's ("tu peux me traduire 'I have been waiting' en français"):
# « … », "…", “…”, ‘…’, and '…' only where it opens after a space (l'école, j'ai are apostrophes)
# and does not close on an elision typed with a space after it ("jusqu' à", "qu' il").
_QUOTED = re.compile(r"«[^»]*»|\"[^\"]*\"|“[^”]*”|‘[^’]*’|(?:^|(?<=\s))'[^']+(?<!qu)'(?=[\s.,;:!?)…»\"]|$)")


def _arabizi(text: str) -> bool:
    """Arabic written in Latin letters and digits (see _DIGIT_BETWEEN)."""
    tokens = re.findall(r"[^\W_]+", text.lower())  # accented letters stay in their word ("3ème3")
    between = sum(1 for t in tokens if _DIGIT_BETWEEN.search(t))
    first = sum(1 for t in tokens if _DIGIT_FIRST.fullmatch(t) and not _DIGIT_BETWEEN.search(t)
                and not _FRENCH_NUMBER.fullmatch(t))
    common = sum(1 for t in tokens if t in ARABIZI_WORDS)
    return between >= 2 or (between + first >= 1 and common >= 1) or common >= 2


# Letters only one of the bot's languages writes (French has ç, ï, ë; Spanish has ü in güe/güi,
# and older Portuguese in qüe/qüi).
_OWN_LETTERS = {"pt": re.compile(r"[ãõ]"), "es": re.compile(r"[ñ¿¡]"),
                "tr": re.compile(r"[ğışö]|ü(?<![gq]ü(?=[ei]))")}


def _own_letters(text: str) -> tuple[str, frozenset[str]] | None:
    """The one language whose own letters the message's words hold ("ücretli", "marcação",
    "¿dónde?"), if exactly one does, with those words (lowercase). A capitalised word is left
    out: a name ("João", "Gökhan") in a French message says nothing of the message's language."""
    words = [w for w in re.findall(r"[^\W\d_]+|[¿¡]", text) if not w[0].isupper()]
    found = {lang: frozenset(w.lower() for w in words if letters.search(w)) for lang, letters in _OWN_LETTERS.items()}
    found = {lang: marked for lang, marked in found.items() if marked}
    return next(iter(found.items())) if len(found) == 1 else None


def _script_counts(text: str) -> tuple[int, int, int]:
    """Letters in Arabic script, in Chinese characters, and in Latin script."""
    arabic = chinese = latin = 0
    for ch in text:
        code = ord(ch)
        if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0xFB50 <= code <= 0xFEFF:
            arabic += 1
        elif 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF:
            chinese += 1
        elif ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN"):
            latin += 1
    return arabic, chinese, latin


def _bare(word: str) -> str:
    """Lowercase without accents: people drop them ("mas cercano", "horario")."""
    return "".join(ch for ch in unicodedata.normalize("NFD", word.lower()) if not unicodedata.combining(ch))


_SENTENCE_START = re.compile(r"(?:^|[.!?…:;\n])[\s\"'«“(¿¡-]*$")


def _own_words(text: str) -> list[str]:
    """The words of a family's message that belong to its language, lower-cased: a word
    capitalised inside a sentence is a name ("oğlum Vitri'de", "Kreteil'deki CIO": a town
    as the family spells it), which says nothing of the language."""
    return [m.group().lower() for m in _WORD.finditer(text)
            if not m.group()[0].isupper() or _SENTENCE_START.search(text, 0, m.start())]


def word_languages(french: Iterable[str], others: dict[str, Iterable[str]],
                   labelled: dict[str, Iterable[str]] | None = None) -> dict[str, str]:
    """Which languages each word belongs to, learnt from texts whose language is known: "gracias"
    es, "hours" en, "nerede" tr, and every word of the French texts fr. `others`: the translated
    answers and fixed messages, each word counts; `labelled`: messages families wrote in that
    language, which mix French school words in ("her last dictée"): a word counts only once two
    of them hold it. A word that other languages share, and French does not, keeps them all,
    joined by "+" ("como" es+pt, accents dropped): it says the message is not French. A word
    French shares with another language says nothing and is left out.
    """
    seen: dict[str, set[str]] = {}
    for lang, texts in ((FRENCH, french), *others.items()):
        for text in texts:
            for word in set(_WORD.findall(text.lower())):  # accents dropped once per word, below
                seen.setdefault(word, set()).add(lang)
    held: dict[tuple[str, str], int] = {}
    for lang, texts in (labelled or {}).items():
        for text in texts:
            for word in {_bare(w) for w in _own_words(text)}:
                held[(word, lang)] = held.get((word, lang), 0) + 1
    for (word, lang), count in held.items():
        if count >= LABELLED_MIN:
            seen.setdefault(word, set()).add(lang)
    bare: dict[str, set[str]] = {}
    for word, langs in seen.items():
        bare.setdefault(_bare(word), set()).update(langs)
    return {word: "+".join(sorted(langs)) for word, langs in bare.items()
            if len(word) > 1 and (langs == {FRENCH} or FRENCH not in langs)}


_COMPACT_ARRAYS = ("ptc", "pc", "nextmove", "row", "output")


def compact_identifier(directory: Path | None):
    """py3langid's identifier for our Latin-script languages, from a compact copy of its model.

    The packaged model covers 97 languages and is decompressed at each load: 77 MB resident
    and half a second. The copy keeps the five languages' columns and stores the tokenising
    automaton uncompressed, memory-mapped: a message touches a few of its pages, not all of
    them. It is made once (like the sentence vectors), a block at a time, and rebuilt if
    unreadable.
    """
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    folder = directory / LANGID_VERSION if directory else None
    if folder is not None:
        try:
            return _read_compact(folder)
        except (OSError, ValueError) as exc:
            if not isinstance(exc, FileNotFoundError):
                logger.warning("Compact language model in %s ignored and rebuilt: %s", folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
        try:  # the copy made a piece at a time: the packaged model is never whole in memory
            from py3langid.langid import MODEL_DIR

            _stream_compact(Path(MODEL_DIR) / MODEL_FILE, folder)  # as py3langid finds it
            return _read_compact(folder)
        # Any error: this reads the package's private layout, and only saves memory; the loaded
        # model is the way that always works.
        except Exception as exc:
            logger.warning("Compact language model not streamed to %s, made from the loaded model: %s",
                           folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LATIN_DETECTED))
    if folder is not None:
        _save_compact(identifier, folder)
        try:  # the copy just made, as every later start reads it: the 77 MB model let go
            return _read_compact(folder)
        except (OSError, ValueError) as exc:
            logger.warning("Compact language model in %s not read back: %s", folder, exc)
    return identifier


def prepare_compact_identifier(directory: Path | None) -> None:
    """At a first start, the compact copy made before anything else is in memory: should it be
    made from the loaded model (77 MB while it is read), the start's peak is then not its own."""
    if directory is not None and not (directory / LANGID_VERSION).exists():
        compact_identifier(directory)


def _read_compact(folder: Path):
    from py3langid.langid import LanguageIdentifier

    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in _COMPACT_ARRAYS}
    classes = json.loads((folder / "classes.json").read_text(encoding="utf-8"))
    if set(classes) != set(LATIN_DETECTED):
        raise ValueError(f"made for {classes}, not {list(LATIN_DETECTED)}")
    # Memory views of the mapped file: read one item at a time, as plain ints (four times faster
    # than numpy's scalars), and never copied into memory.
    return LanguageIdentifier(
        np.asarray(arrays["ptc"]), np.asarray(arrays["pc"]), classes, memoryview(arrays["nextmove"]),
        memoryview(arrays["output"]), norm_probs=True, tk_row=arrays["row"].tolist())


# The packaged model's arrays (py3langid's own layout, one `.npy` each in an LZMA-compressed
# `.npz`) and the compact copy's name for each: the tokenising automaton is copied as it is.
_PACKAGED_AS = {"nextmove": "nextmove", "nextmove_row": "row", "out_feat": "output"}
_STREAM_ROWS = 1 << 14  # rows of the automaton (or of the word weights) read at a time


def _stream_compact(packaged: Path, folder: Path) -> None:
    """Write the compact copy straight from the packaged file, one block at a time.

    Loading the packaged model whole (then restricting it) held 77 MB at once: at a fresh
    machine's first start, while the sentence encoder loads beside it, that was the start's
    peak of memory (some 250 MiB). Read a block at a time, only the copy's small arrays are
    ever whole. `_save_compact` (from the loaded model) stays the way when this fails: a
    py3langid whose file is laid out otherwise (the copy's folder is named by its version)."""

    def fill(partial: Path) -> None:
        with tempfile.TemporaryFile(suffix=".npz") as unpacked:
            with lzma.open(packaged) as source:  # uncompressed on disk, not in memory
                shutil.copyfileobj(source, unpacked, length=1 << 20)
            unpacked.seek(0)
            with zipfile.ZipFile(unpacked) as archive:
                classes = [str(c) for c in npz_blocks.read_member(archive, "classes").tolist()]
                kept = [i for i, c in enumerate(classes) if c in LATIN_DETECTED]
                if len(kept) != len(LATIN_DETECTED):
                    raise ValueError(f"the packaged model lacks {set(LATIN_DETECTED) - set(classes)}")
                np.save(partial / "pc.npy", npz_blocks.read_member(archive, "pc")[kept], allow_pickle=False)
                np.save(partial / "ptc.npy", _columns(archive, "ptc", kept), allow_pickle=False)
                for name, ours in _PACKAGED_AS.items():
                    _copy_member(archive, name, partial / f"{ours}.npy", _COMPACT_TYPES[ours])
        (partial / "classes.json").write_text(json.dumps([classes[i] for i in kept]), encoding="utf-8")

    _made_whole(folder, fill)


def _made_whole(folder: Path, fill: Callable[[Path], None]) -> None:
    """`folder` made by `fill` in a folder of its own, then renamed: whole or not at all. When
    another process made it meanwhile, theirs is kept. Raises what `fill` raises."""
    if folder.exists():
        return
    partial = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    try:
        partial.mkdir(parents=True, exist_ok=True)
        fill(partial)
        try:
            partial.rename(folder)
        except OSError:
            if not folder.exists():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)  # gone once renamed; what is left of a failure


_COMPACT_TYPES = {"nextmove": np.dtype("<u4"), "row": np.dtype("<i8"), "output": np.dtype("<i4")}


def _columns(archive: zipfile.ZipFile, name: str, kept: list[int]) -> np.ndarray:
    """The kept columns of a matrix of the packaged file (the words' weights of our languages)."""
    blocks = npz_blocks.blocks(archive, name, _STREAM_ROWS)
    shape = next(blocks)
    if len(shape) != 2:
        raise ValueError(f"{name}: shape {shape}")
    rows = [np.ascontiguousarray(block[:, kept]) for block in blocks]
    return np.concatenate(rows) if rows else np.zeros((0, len(kept)), dtype=np.float16)


def _copy_member(archive: zipfile.ZipFile, name: str, target: Path, dtype: np.dtype) -> None:
    """A vector of the packaged file written to `target` as `dtype`, a block at a time."""
    blocks = npz_blocks.blocks(archive, name, _STREAM_ROWS)
    shape = next(blocks)
    if len(shape) != 1:
        raise ValueError(f"{name}: shape {shape}")
    with target.open("wb") as out:
        npz_blocks.write_header(out, shape, dtype)
        for block in blocks:
            if block.size and (block.min() < np.iinfo(dtype).min or block.max() > np.iinfo(dtype).max):
                raise ValueError(f"{name}: values beyond {dtype}")
            out.write(block.astype(dtype).tobytes())


def _save_compact(identifier, folder: Path) -> None:
    """Write the restricted model, from the loaded one, next to the sentence vectors."""

    def fill(partial: Path) -> None:
        arrays = {
            "ptc": np.ascontiguousarray(identifier.nb_ptc), "pc": np.asarray(identifier.nb_pc),
            "nextmove": np.asarray(identifier.tk_nextmove, dtype=np.uint32),
            "row": np.asarray(identifier.tk_row, dtype=np.int64),
            "output": np.asarray(identifier.tk_output, dtype=np.int32),
        }
        for name, array in arrays.items():
            np.save(partial / f"{name}.npy", array, allow_pickle=False)
        (partial / "classes.json").write_text(json.dumps(list(identifier.nb_classes)), encoding="utf-8")

    try:
        _made_whole(folder, fill)
    except OSError as exc:
        logger.warning("Compact language model not written to %s: %s", folder, exc)


class LanguageDetector:
    """Detects the language of a message, French unless another one is clear."""

    def __init__(self, neutral_words: Iterable[str] = (), word_language: dict[str, str] | None = None,
                 model_dir: Path | None = None) -> None:
        self._model_dir = model_dir  # where the detector's compact model is kept (None: not kept)
        # Names shared by every language ("cio", "jump", "tech", "affelnet") say nothing of it.
        self._neutral = frozenset(w.lower() for w in neutral_words)
        self._word_language = word_language or {}

    @cached_property
    def _identifier(self):  # loaded on first use: most messages are decided by script or length
        return compact_identifier(self._model_dir)

    def use_words(self, word_language: dict[str, str]) -> None:
        """The words of each language (`word_languages`), learnt once the detector can say which
        unlabelled texts plainly are not French (`plainly_other`)."""
        self._word_language = word_language

    def release(self) -> None:
        """Let the detector's model go (read again, mapped, at the next message that needs it).
        Without a folder for its compact copy it would be decompressed again: kept then."""
        if self._model_dir is not None:
            self.__dict__.pop("_identifier", None)

    def _words(self, text: str) -> list[str]:
        """The message's Latin words, lower-cased, the names every language shares left out."""
        return [w for w in _WORD.findall(text.lower()) if w not in self._neutral]

    def plainly_other(self, text: str) -> bool:
        """Two words or more, the FAQ's names aside, that the detector reads as another language
        with no doubt."""
        words = self._words(text)
        if len(words) < 2:
            return False
        language, probability = self._identifier.classify(" ".join(words))
        return language != FRENCH and probability >= PLAINLY_OTHER

    def detect(self, text: str, hint: str | None = None, current: str | None = None) -> str:
        """The language the message is written in; what it quotes is left out, when it says
        something besides."""
        outside = _QUOTED.sub(" ", text)
        if outside != text and len(_WORD.findall(outside)) >= 2:
            text = outside
        arabic, chinese, _ = _script_counts(text)
        if arabic >= 2 and self._reads_arabic(text):
            return "ar"
        if _arabizi(text):
            return "ar"
        if chinese >= 1 and chinese >= len(_WORD.findall(_LATIN_ONLY.sub(" ", text))):
            return "zh"  # a Chinese character weighs about a word
        words = self._words(text)
        own = self._by_letters(text, words)
        if own is not None:
            return own
        if not words:
            return current or FRENCH
        by_words = self._by_words(words)
        if by_words is not None:
            return by_words
        language, probability = self._identifier.classify(" ".join(words))
        if language == FRENCH:
            return FRENCH
        if probability >= SURE and len(words) >= MIN_WORDS:
            return language
        french_word = any(self._word_language.get(_bare(w)) == FRENCH for w in words)
        if probability >= PLAINLY_OTHER and len(words) >= 2 and not french_word:
            return language  # "What is affelnet?": two words, none of them French, no doubt
        hinted = probability >= CLIENT_HINTED and language == hint and len(words) >= 2  # "information"
        if hinted or (probability >= CURRENT and language == current):
            return language
        return current if current and len(words) < MIN_WORDS else FRENCH

    def _reads_arabic(self, text: str) -> bool:
        """An Arabic word weighs as a Latin one ("ما هو Parcoursup؟" is Arabic); with fewer Arabic
        words, the message is still Arabic when its other words, the FAQ's names aside, do not
        read as French ("وين نلقى stage de 3e في Vitry"). A greeting or a name in Arabic script
        in a French sentence ("السلام عليكم, je voudrais un stage pour mon fils") stays French."""
        arabic_words = [w for w in _ARABIC_WORD.findall(text) if any(ch.isalpha() for ch in w)]
        latin = _WORD.findall(_ARABIC_WORD.sub(" ", text))
        if len(arabic_words) >= len(latin):
            return True
        rest = [w for w in map(str.lower, latin) if w not in self._neutral]
        return len(arabic_words) >= 2 and (len(rest) < 2 or self._identifier.classify(" ".join(rest))[0] != FRENCH)

    def _by_letters(self, text: str, words: list[str]) -> str | None:
        """The language whose own letters the message holds, unless the rest of it reads as
        French ("AESH nasıl alınır" is Turkish; "mon fils joão cherche un stage", a name typed
        in lowercase, and "la señora du CIO" stay French): a French message is never answered
        in another language for one word."""
        own = _own_letters(text)
        if own is None:
            return None
        lang, marked = own
        rest = [w for w in words if w not in marked]
        if len(rest) >= 2 and self._identifier.classify(" ".join(rest))[0] == FRENCH:
            return None
        return lang

    def _by_words(self, words: list[str]) -> str | None:
        """A message with more words of other languages than of French, all of them of one
        language, or of languages the detector then chooses between ("hola, donde esta el CIO mas
        cercano", "gracias!!", "opening hours?", "parcoursup como funciona": es or pt, the detector
        says which, unless it reads French). French when it holds French words and none of another
        language ("nv album ninho c quand": the detector alone reads a name or an SMS word as
        Portuguese)."""
        if not self._word_language:
            return None
        found = [self._word_language.get(_bare(w)) for w in words]
        french = found.count(FRENCH)
        foreign = [set(langs.split("+")) for langs in found if langs and langs != FRENCH]
        if not foreign:
            return FRENCH if french >= FRENCH_WORDS_KEEP else None
        common = set.intersection(*foreign)
        if not common or len(foreign) <= french:
            return None
        if len(common) == 1:
            return common.pop()
        lang = self._identifier.classify(" ".join(words))[0]  # French, or a third: not sure enough
        return lang if lang in common else None


def client_language(code: str | None) -> str | None:
    """A Telegram client's language ("pt-br" -> "pt"), if the bot speaks it."""
    if not code:
        return None
    short = code.split("-")[0].lower()
    return short if short in SUPPORTED else None


@dataclass(frozen=True)
class Catalog:
    """The fixed messages by language; French from bot/messages.py, the others from knowledge/i18n/."""

    texts: dict[str, dict[str, object]]

    @classmethod
    def load(cls, root: Path) -> tuple[Catalog, list[Problem]]:
        """The catalogue and the problems found (a missing or broken file leaves French only)."""
        catalog, found = cls._read(root)
        return catalog, [Problem(str(MESSAGES_FILE), 1, message, is_error=False) for message in found]

    @classmethod
    def _read(cls, root: Path) -> tuple[Catalog, list[str]]:
        path = root / MESSAGES_FILE
        if not path.exists():
            return cls({}), []
        try:
            data = safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            return cls({}), [f"illisible ({exc}) : les messages restent en français"]
        problems: list[str] = []
        texts: dict[str, dict[str, object]] = {}
        for lang, table in data.items():
            if lang not in SUPPORTED or not isinstance(table, dict):
                problems.append(f"langue « {lang} » inconnue ou mal formée")
                continue
            texts[lang] = {}
            for key, value in table.items():
                french = getattr(messages, str(key), None)
                if french is None:
                    problems.append(f"{lang}.{key} : message inconnu")
                elif isinstance(french, str) and isinstance(value, str):
                    missing = set(re.findall(r"\{\w+\}", french)) - set(re.findall(r"\{\w+\}", value))
                    if missing:
                        gone = ", ".join(sorted(missing))
                        problems.append(f"{lang}.{key} : il manque {gone} (message laissé en français)")
                    else:
                        texts[lang][str(key)] = value
                elif isinstance(value, dict):
                    texts[lang][str(key)] = value
        return cls(texts), problems

    def text(self, name: str, lang: str | None = FRENCH) -> str:
        value = self.texts.get(lang or FRENCH, {}).get(name)
        return value if isinstance(value, str) else getattr(messages, name)

    def commands(self, lang: str) -> dict[str, str]:
        """The public commands' descriptions in a language (French where one is missing)."""
        table = self.texts.get(lang, {}).get("COMMANDS")
        table = table if isinstance(table, dict) else {}
        return {name: str(table.get(name, french)) for name, french in messages.COMMANDS.items()}
