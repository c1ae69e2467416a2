"""Places in messages (communes, postcodes, positions) and the services nearest to them."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.knowledge.model import Commune, KnowledgeBase, Service
from bot.text import fold

EARTH_RADIUS_KM = 6371.0
# A postcode stands alone: not inside a longer run of digits (a phone number, an INE), and
# not an amount ("15000 euros").
_POSTCODE = re.compile(r"(?:(?<![\d ])(\d{5})(?![\d])|(?<=\s)(\d{5})(?![\d ]\d))(?!\s*(?:euro|eur\b|e\b|k\b))")
_PARIS_ARRONDISSEMENT = re.compile(r"\bparis\s*(\d{1,2})\s*(?:e|eme|er)?\b")
# Beyond this distance from every commune of the 94, a shared position is outside it.
MAX_KM_FROM_94 = 4.0
FUZZY_NAME_CUTOFF = 90
# Words after which a town named like an everyday word ("Tours", "Sens") is a town, and a
# postcode outside the 94 a postcode ("cio 69001", not "12000 par an"). "à" is checked on the
# message as written: folded, it is "a", also an English article ("a nice school").
PLACE_WORDS = frozenset({"au", "sur", "vers", "pres", "cio", "habite", "habitons", "habitent", "habitez",
                         "ville", "cp", "postal"})
_AFTER_A_GRAVE = re.compile(r"\bà\s+([^\W\d_]+)", re.IGNORECASE)
# Letters of the Arabic script (tatweel, U+0640, left out: it only stretches a word), and the
# marks that may follow a letter (short vowels, shadda, Quranic signs).
_ARABIC_LETTER = ("\u0620-\u063f\u0641-\u064a\u066e\u066f\u0671-\u06d3\u06d5\u06ee\u06ef"
                  "\u06fa-\u06ff\u0750-\u077f\u08a0-\u08c9")
_ARABIC_MARK = "\u0640\u064b-\u065f\u0670\u06d6-\u06ed\u08ca-\u08ff"


def _written_name(name: str) -> re.Pattern[str]:
    """A commune's name in another script, as it is found in a message. In Arabic script the name
    ends where the word ends, its vowel marks aside ("أورلي", Orly, is not "أورليان" nor "أورليَان",
    Orléans) but may follow a particle written on it ("بأورلي", in Orly); Chinese has no spaces, so
    its names are found anywhere. Not seen: a longer name made of two words ("فيتري لو فرانسوا",
    Vitry-le-François, reads as Vitry) or of more characters ("维特里勒弗朗索瓦")."""
    if re.search(f"[{_ARABIC_LETTER}]$", name):
        return re.compile(re.escape(name) + f"(?![{_ARABIC_MARK}]*[{_ARABIC_LETTER}])")
    return re.compile(re.escape(name))


def _other_script(text: str) -> bool:
    """Letters of a script other than Latin. Modifier letters ("jʼhabite", its apostrophe) belong
    to the Latin words around them."""
    return any(ch.isalpha() and not unicodedata.name(ch, "").startswith(("LATIN", "MODIFIER")) for ch in text)


def is_french_postcode(code: str) -> bool:
    """Five digits of a French département: 01-95 (20 is Corsica) or overseas 97x, 98x."""
    return len(code) == 5 and code.isdigit() and ("01" <= code[:2] <= "95" or code[:2] in ("97", "98"))


@dataclass(frozen=True)
class Place:
    """Where the user is: a commune of the 94, or a place outside it."""

    commune: Commune | None
    lat: float | None = None
    lon: float | None = None
    outside_name: str | None = None  # set when the place is not in the Val-de-Marne
    matched: tuple[str, ...] = ()  # the words of the message that named it
    also: tuple[Commune, ...] = ()  # other communes sharing the postcode given (94440: three)

    @property
    def is_outside(self) -> bool:
        return self.outside_name is not None

    @property
    def position(self) -> tuple[float, float] | None:
        if self.lat is not None and self.lon is not None:
            return self.lat, self.lon
        if self.commune:
            # A shared postcode: the middle of its communes, not one of them at random.
            group = (self.commune, *self.also)
            return sum(c.lat for c in group) / len(group), sum(c.lon for c in group) / len(group)
        return None

    @property
    def label(self) -> str:
        """How the bot names the place back to the user."""
        if self.commune is None:
            return self.outside_name or "votre position"
        if self.also:
            names = ", ".join(c.name for c in (self.commune, *self.also))
            return f"{self.matched[0]} ({names})"
        return self.commune.name


@dataclass(frozen=True)
class NearbyService:
    service: Service
    commune: Commune
    distance_km: float


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


class Gazetteer:
    """Every way of naming a commune, built once per knowledge base."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.communes = kb.communes
        self.names: dict[tuple[str, ...], Commune] = {}
        # Names in another script ("فيتري", "克雷泰伊"): folding keeps Latin letters only, so
        # they are looked for as written. Longest first: "فيلنوف سان جورج" before a shorter one.
        self.scripts: list[tuple[str, re.Pattern[str], Commune]] = []
        for commune in kb.communes.values():
            for name in (commune.name, *commune.aliases):
                words = _place_words(name)
                if words:
                    self.names[words] = commune
                elif name.strip():
                    written = unicodedata.normalize("NFKC", name.strip())
                    self.scripts.append((written, _written_name(written), commune))
        self.scripts.sort(key=lambda item: -len(item[0]))
        self.outside: dict[tuple[str, ...], str] = {}
        self._after_a_place_word: set[tuple[str, ...]] = set()
        for place in kb.outside_places:
            key = _place_words(place.name)
            if key in self.outside:
                continue  # the hand-kept list (read first) wins over the generated one
            self.outside[key] = place.name
            if place.after_a_place_word:
                self._after_a_place_word.add(key)
        self.by_postcode: dict[str, list[Commune]] = {}
        for commune in kb.communes.values():
            for postcode in commune.postcodes:
                self.by_postcode.setdefault(postcode, []).append(commune)
        self._longest = max((len(k) for k in [*self.names, *self.outside]), default=1)
        self._first_words = {k[0] for k in [*self.names, *self.outside]}
        # Fuzzy matching only on long names: short ones ("bry", "kb") must be exact. Names are
        # filed under their first two letters: a typo there is rare, and it keeps this fast.
        self._fuzzy: dict[str, list[tuple[str, Commune]]] = {}
        for key, commune in self.names.items():
            phrase = " ".join(key)
            if len(phrase) >= 7:
                self._fuzzy.setdefault(phrase[:2], []).append((phrase, commune))

    def find(self, text: str) -> Place | None:
        """The place named in the message, or None. A commune of the 94 wins over a place
        outside it named in the same message: that one is more often a word read as a town."""
        folded = fold(text)
        arrondissement = _PARIS_ARRONDISSEMENT.search(folded)
        outside: Place | None = None
        if arrondissement:
            outside = Place(None, outside_name=f"Paris {arrondissement.group(1)}e",
                            matched=tuple(arrondissement.group(0).split()))
        postcode = self._postcode(folded)
        if postcode is not None and postcode.commune is not None:
            return postcode
        outside = outside or postcode
        if self.scripts:
            written = unicodedata.normalize("NFKC", text)
            for _, pattern, commune in self.scripts:
                if pattern.search(written):
                    return Place(commune, matched=())
        words = place_spelling(tuple(folded.split()))
        after_a_grave = {fold(w) for w in _AFTER_A_GRAVE.findall(text)}
        inside, named_outside = self._exact(words, after_a_grave)
        if inside is not None:
            return inside
        return outside or named_outside or self._fuzzy_find(words)

    def other_script_left(self, text: str) -> bool:
        """Letters of a non-Latin script left once the communes' names in such scripts are taken
        out. The normaliser reads Latin words only: without this, "هل توجد مساعدة في الواجبات في
        كريتاي؟" (homework help, in Créteil) would look like a town and nothing else."""
        # A message in Latin letters only (most) has none to take out: no names to replace.
        return _other_script(text) and _other_script(self.with_french_names(text))

    def with_french_names(self, text: str) -> str:
        """The communes named in another script written by their French name, for the sentence
        encoder: it reads "Vitry-sur-Seine" as a town; "فيتري" or "维特里" it reads as words it
        hardly knows, which put "أنا من فيتري" (I am from Vitry) close to messages of distress."""
        written = unicodedata.normalize("NFKC", text)
        for _, pattern, commune in self.scripts:
            written = pattern.sub(lambda _match, name=commune.name: name, written)
        return written

    def _postcode(self, folded: str) -> Place | None:
        """A postcode of the 94 anywhere; one outside it only as a place ("cio 69001", "69001"
        alone), never an amount or a figure ("12000 par an", "25000 dollars")."""
        found: Place | None = None
        for match in _POSTCODE.finditer(folded):
            code = match.group(1) or match.group(2)
            communes = self.by_postcode.get(code)
            if communes:
                return Place(communes[0], matched=(code,), also=tuple(communes[1:]))
            if code.startswith("94") or found is not None or not is_french_postcode(code):
                continue  # a CEDEX or unknown 94 code: not enough to place someone
            before = folded[: match.start()].split()
            after = folded[match.end():].split()
            alone = len(before) + len(after) <= 1 and (not before or before[-1] == "cio")
            if alone or (before and before[-1] in PLACE_WORDS | {"a"}):
                found = Place(None, outside_name=code, matched=(code,))
        return found

    def _exact(self, words: tuple[str, ...], after_a_grave: set[str]) -> tuple[Place | None, Place | None]:
        """The first commune of the 94 named, and the first place outside it."""
        outside: Place | None = None
        for i in range(len(words)):
            if words[i] not in self._first_words:
                continue
            for size in range(min(self._longest, len(words) - i), 0, -1):
                key = words[i : i + size]
                commune = self.names.get(key)
                if commune:
                    return Place(commune, matched=key), outside
                name = self.outside.get(key)
                if name and outside is None and self._counts_as_place(words, i, key, after_a_grave):
                    outside = Place(None, outside_name=name, matched=key)
                    break
        return None, outside

    def _counts_as_place(
        self, words: tuple[str, ...], i: int, key: tuple[str, ...], after_a_grave: set[str]
    ) -> bool:
        """A town named like an everyday word ("Tours", "Sens") only right after "à", "cio"..."""
        if key not in self._after_a_place_word:
            return True
        before = words[i - 1] if i > 0 else ""
        return before in PLACE_WORDS or (before == "a" and key[0] in after_a_grave)

    def _fuzzy_find(self, words: tuple[str, ...]) -> Place | None:
        best: tuple[float, Commune, tuple[str, ...]] | None = None
        for i in range(len(words)):
            names = self._fuzzy.get(words[i][:2])
            if not names:
                continue
            for size in range(1, min(self._longest, len(words) - i) + 1):
                key = words[i : i + size]
                phrase = " ".join(key)
                if len(phrase) < 7:
                    continue
                for name, commune in names:
                    if abs(len(name) - len(phrase)) > 3:
                        continue
                    score = fuzz.ratio(phrase, name, score_cutoff=FUZZY_NAME_CUTOFF)
                    if score and (best is None or score > best[0]):
                        best = (score, commune, key)
        return Place(best[1], matched=best[2]) if best else None

    def strip(self, words: tuple[str, ...], place: Place | None = None) -> tuple[str, ...]:
        """The words without place names or postcodes: they say where, not what.

        With a place found in the message, words close to its name's own words go too
        ("vitry sur seinne" once "vitry" was recognised).
        """
        kept: list[str] = []
        i = 0
        while i < len(words):
            size = self._name_at(words, i, place)
            if size:
                i += size
                # "Paris 13e": the arrondissement goes with the name.
                if words[i - 1] == "paris" and i < len(words) and re.fullmatch(r"\d{1,2}e?", words[i]):
                    i += 1
                continue
            word = words[i]
            said_where = (word.startswith("94") and is_french_postcode(word)) or (place and word in place.matched)
            if not said_where:
                kept.append(word)
            i += 1
        if place is not None and place.commune is not None:
            name_words = set(_place_words(place.commune.name))
            kept = [
                w for w in kept
                if not (len(w) >= 4 and any(fuzz.ratio(w, n) >= 85 for n in name_words))
            ]
        return tuple(kept)

    def _name_at(self, words: tuple[str, ...], i: int, place: Place | None = None) -> int:
        """Length of the longest place name starting at word i (0 if none). A town named like
        an everyday word goes only when it is the place found ("rien n'a de sens" keeps it)."""
        if words[i] not in self._first_words:
            return 0
        for size in range(min(self._longest, len(words) - i), 0, -1):
            key = words[i : i + size]
            if key in self.names:
                return size
            if key in self.outside and (key not in self._after_a_place_word
                                        or (place is not None and place.matched == key)):
                return size
        return 0

    def locate(self, lat: float, lon: float) -> Place:
        """The commune a shared position falls in (the nearest town hall), or outside."""
        nearest = min(
            self.communes.values(), key=lambda c: distance_km(lat, lon, c.lat, c.lon), default=None
        )
        if nearest is None or distance_km(lat, lon, nearest.lat, nearest.lon) > MAX_KM_FROM_94:
            return Place(None, lat, lon, outside_name="votre position")
        return Place(nearest, lat, lon)


_SAINT = {"st": "saint", "ste": "sainte"}


def place_spelling(words: tuple[str, ...]) -> tuple[str, ...]:
    """Words as place names are filed: 'St-Maur' and 'Saint Maur' meet."""
    return tuple(_SAINT.get(w, w) for w in words)


def _place_words(text: str) -> tuple[str, ...]:
    """Fold a place name; articles stay (they tell 'Le Perreux' from other names)."""
    return place_spelling(tuple(fold(text).split()))


def nearest_services(
    kb: KnowledgeBase, place: Place, kinds: tuple[str, ...], limit: int = 3
) -> list[NearbyService]:
    """Services of these kinds, nearest first."""
    position = place.position
    if position is None:
        return []
    found = []
    for service in kb.services.values():
        if service.kind not in kinds:
            continue
        commune = kb.communes.get(service.commune_insee)
        if commune is None:
            continue
        found.append(
            NearbyService(service, commune, distance_km(*position, service.lat, service.lon))
        )
    found.sort(key=lambda s: (s.distance_km, s.service.name))
    return found[:limit]
