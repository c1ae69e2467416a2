"""Load the maintainers' YAML into a KnowledgeBase, collecting every problem as file:line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bot.knowledge import (
    LANGUAGES,
    Commune,
    Entry,
    KnowledgeBase,
    Language,
    Link,
    OutsidePlace,
    Service,
    Topic,
    Translation,
    answer_version,
)
from bot.text import fold
from bot.yaml_source import LineDict, LineList, YamlError, load_yaml

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# Plain French (see _check_plain_french): a sentence ends at . ! ? : ; or a line break.
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+|\n")
MAX_SENTENCE_WORDS = 25
MAX_ANSWER_CHARS = 900
POSTCODE_94 = re.compile(r"^94\d{3}$")
STALE_AFTER_DAYS = 365
SAFETY_TOPIC = "securite"
MIN_PREFIX_LETTERS = 4  # before the "*" of a prefix trigger
WHERE_INTENT = "endroit"  # the intent a short message naming a town asks (see bot/engine.py)

ENTRY_FIELDS = {
    "id", "questions", "answer", "links", "follow_up", "sources", "verified",
    "keywords", "triggers", "service", "needs_place", "audience", "intent", "translations",
}
TRANSLATION_FIELDS = {"title", "answer", "translates"}
TRANSLATED_LANGUAGES = LANGUAGES[1:]
TOPIC_FIELDS = {"topic", "title", "entries", "description"}
SERVICE_FIELDS = {
    "id", "kind", "name", "address", "postcode", "commune_insee", "phone", "email",
    "website", "lat", "lon", "approximate_position", "attached_to", "note", "topics",
    "sources", "data_as_of", "verified",
}
SERVICE_REQUIRED = ("id", "kind", "name", "commune_insee", "lat", "lon", "sources", "verified")
COMMUNE_FIELDS = {"insee", "name", "postcodes", "lat", "lon", "aliases"}
# A generous box around the Val-de-Marne: catches swapped or mistyped coordinates.
LAT_RANGE = (48.6, 48.95)
LON_RANGE = (2.25, 2.65)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str
    is_error: bool = True

    def __str__(self) -> str:
        prefix = "" if self.is_error else "avertissement : "
        return f"{self.file}:{self.line}: {prefix}{self.message}"


class _Report:
    """Collects problems for one load; `file` is the path shown to maintainers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def error(self, path: Path, line: int, message: str) -> None:
        self.problems.append(Problem(self._show(path), line, message))

    @property
    def error_count(self) -> int:
        return sum(p.is_error for p in self.problems)

    def warn(self, path: Path, line: int, message: str) -> None:
        self.problems.append(Problem(self._show(path), line, message, is_error=False))

    def _show(self, path: Path) -> str:
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)


def load_knowledge(
    root: Path, today: date | None = None, check_eval: bool = True
) -> tuple[KnowledgeBase, list[Problem]]:
    """Load everything under `root`; what is broken is reported and left out, never fatal.

    `check_eval` also checks that the question set names existing entries (maintainers'
    `check`); the bot itself skips it to start faster.
    """
    today = today or date.today()
    report = _Report(root)
    if not root.is_dir():
        report.error(root, 1, "dossier de connaissances introuvable")
    communes = _load_communes(root / "communes.yaml", report, today)
    services = _load_services(root / "services.yaml", report, communes, today)
    language = _load_language(root / "language.yaml", report)
    outside = _load_outside(root / "outside_places.yaml", report) + _load_towns(root / "french_towns.yaml", report)
    topics, entries = _load_faq(root / "faq", report, today, services, language)
    for service in services.values():
        for topic in service.topics:
            if topic not in topics:
                message = f"« topics » de « {service.id} » : thème « {topic} » inconnu"
                report.error(Path(service.file), service.line, message)
    topics = _in_menu_order(root / "menu.yaml", topics, report)
    kb = KnowledgeBase(topics, entries, services, communes, language, outside)
    if check_eval:
        _check_eval(root / "eval.yaml", report, kb)
    # Causes before consequences: a file that is not valid YAML first (its absence causes the
    # later problems), then the knowledge files, and last eval.yaml, whose questions only
    # point at entries (a broken entry makes its questions fail too).
    report.problems.sort(key=lambda p: (not p.message.startswith("YAML invalide"),
                                        Path(p.file).name == "eval.yaml", p.file, p.line))
    return kb, report.problems


def _in_menu_order(path: Path, topics: dict[str, Topic], report: _Report) -> dict[str, Topic]:
    """The themes in the order of menu.yaml (what families ask most first); the others after."""
    data = _read(path, report, required=False)
    listed = data.get("order") if isinstance(data, LineDict) else None
    if data is not None and not isinstance(listed, LineList):
        report.error(path, getattr(data, "line", 1), "« order » doit être la liste des thèmes du menu")
        return topics
    order: list[str] = []
    for index, topic in enumerate(listed or ()):
        if topic not in topics:
            report.warn(path, listed.line_of(index), f"thème « {topic} » inconnu : ignoré")
        elif topic not in order:
            order.append(str(topic))
    return {t: topics[t] for t in [*order, *(t for t in topics if t not in order)]}


def _read(path: Path, report: _Report, required: bool = True) -> Any:
    if not path.exists():
        if required:
            report.error(path, 1, "fichier manquant")
        return None
    try:
        data = load_yaml(path)
    except YamlError as exc:
        report.error(path, exc.line, exc.message)
        return None
    if data is None:
        report.error(path, 1, "fichier vide")
    return data


def _mapping(value: Any, path: Path, line: int, what: str, report: _Report) -> LineDict | None:
    if isinstance(value, LineDict):
        return value
    report.error(path, line, f"{what} doit être une liste de champs « nom: valeur »")
    return None


def _strings(
    data: LineDict, key: str, path: Path, report: _Report, required: bool = False
) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        if required:
            report.error(path, data.line, f"le champ « {key} » est obligatoire")
        return ()
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, list):
        # "3018" written without quotes is a number: it is still the text a person types.
        value = [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        report.error(path, data.line_of(key), f"« {key} » doit être une liste de textes non vides")
        return ()
    if required and not value:
        report.error(path, data.line_of(key), f"« {key} » ne peut pas être vide")
    return tuple(v.strip() for v in value)


def _text(data: LineDict, key: str, path: Path, report: _Report, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        if required:
            report.error(path, data.line, f"le champ « {key} » est obligatoire")
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        report.error(path, data.line_of(key), f"« {key} » doit être un texte non vide")
        return ""
    return value.strip()


def _unknown_fields(data: LineDict, allowed: set[str], path: Path, report: _Report) -> None:
    for key in data:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            report.error(path, data.line_of(key), f"champ inconnu « {key} » (champs permis : {known})")


def _verified(data: LineDict, path: Path, report: _Report, today: date) -> date | None:
    value = data.get("verified")
    if value is None:
        report.error(path, data.line, "le champ « verified » (date de vérification) est obligatoire")
        return None
    if not isinstance(value, date):
        report.error(
            path, data.line_of("verified"), "« verified » doit être une date AAAA-MM-JJ"
        )
        return None
    if value > today:
        report.error(path, data.line_of("verified"), f"« verified » est dans le futur ({value})")
    elif (today - value).days > STALE_AFTER_DAYS:
        report.warn(
            path, data.line_of("verified"),
            f"vérifié le {value.isoformat()}, il y a plus d'un an : à revérifier",
        )
    return value


def is_valid_url(url: str) -> bool:
    parsed = urlparse(url)
    return (
        parsed.scheme in ("http", "https")
        and "." in parsed.netloc
        and " " not in url
        and not parsed.netloc.startswith(".")
    )


def _check_sources(sources: tuple[str, ...], data: LineDict, path: Path, report: _Report) -> None:
    for source in sources:
        if source.startswith(("http:", "https:")) and not is_valid_url(source.split(" ")[0]):
            report.error(path, data.line_of("sources"), f"source : adresse web invalide « {source} »")


def _number(data: LineDict, key: str, path: Path, report: _Report) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        report.error(path, data.line_of(key), f"« {key} » doit être un nombre (ex. 48.79)")
        return None
    return float(value)


def _position(
    data: LineDict, path: Path, report: _Report
) -> tuple[float, float] | None:
    lat, lon = _number(data, "lat", path, report), _number(data, "lon", path, report)
    if lat is None or lon is None:
        return None
    if not (LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]):
        report.error(
            path, data.line_of("lat"),
            f"coordonnées hors du Val-de-Marne ({lat}, {lon}) : latitude et longitude inversées ?",
        )
        return None
    return lat, lon


# --- communes -----------------------------------------------------------------------------

def _load_communes(path: Path, report: _Report, today: date) -> dict[str, Commune]:
    data = _read(path, report)
    doc = _mapping(data, path, 1, "communes.yaml", report) if data is not None else None
    if doc is None:
        return {}
    _strings(doc, "sources", path, report, required=True)
    _verified(doc, path, report, today)
    items = doc.get("communes")
    if not isinstance(items, LineList):
        report.error(path, doc.line_of("communes"), "« communes » doit être une liste")
        return {}
    communes: dict[str, Commune] = {}
    alias_owner: dict[str, str] = {}
    for index, raw in enumerate(items):
        item = _mapping(raw, path, items.line_of(index), "une commune", report)
        if item is None:
            continue
        _unknown_fields(item, COMMUNE_FIELDS, path, report)
        insee = _text(item, "insee", path, report, required=True)
        name = _text(item, "name", path, report, required=True)
        postcodes = _strings(item, "postcodes", path, report, required=True)
        aliases = _strings(item, "aliases", path, report)
        position = _position(item, path, report)
        if not re.fullmatch(r"94\d{3}", insee):
            report.error(path, item.line_of("insee"), f"code INSEE « {insee} » hors du Val-de-Marne")
            continue
        if insee in communes:
            report.error(path, item.line_of("insee"), f"la commune {insee} est déjà listée")
            continue
        for postcode in postcodes:
            if not POSTCODE_94.match(postcode):
                report.error(
                    path, item.line_of("postcodes"),
                    f"code postal « {postcode} » hors du Val-de-Marne (94xxx attendu)",
                )
        for alias in (name, *aliases):
            key = fold(alias) or alias.strip()  # a name in Arabic or Chinese script is kept as written
            owner = alias_owner.setdefault(key, insee)
            if owner != insee:
                report.error(
                    path, item.line_of("aliases"),
                    f"le nom « {alias} » désigne déjà la commune {owner}",
                )
        if name and position:
            communes[insee] = Commune(insee, name, postcodes, position[0], position[1], aliases)
    return communes


# --- services -----------------------------------------------------------------------------

def _load_services(
    path: Path, report: _Report, communes: dict[str, Commune], today: date
) -> dict[str, Service]:
    data = _read(path, report)
    doc = _mapping(data, path, 1, "services.yaml", report) if data is not None else None
    if doc is None:
        return {}
    items = doc.get("services")
    if not isinstance(items, LineList):
        report.error(path, doc.line_of("services"), "« services » doit être une liste")
        return {}
    services: dict[str, Service] = {}
    attached: list[tuple[LineDict, str]] = []
    for index, raw in enumerate(items):
        item = _mapping(raw, path, items.line_of(index), "un service", report)
        if item is None:
            continue
        service = _service(item, path, report, communes, today)
        if service is None:
            continue
        if service.id in services:
            report.error(path, item.line_of("id"), f"l'identifiant « {service.id} » est déjà utilisé")
            continue
        services[service.id] = service
        if service.attached_to:
            attached.append((item, service.attached_to))
    for item, target in attached:
        if target not in services:
            report.error(path, item.line_of("attached_to"), f"« attached_to » : service « {target} » inconnu")
    return services


def _service(
    item: LineDict, path: Path, report: _Report, communes: dict[str, Commune], today: date
) -> Service | None:
    errors_before = report.error_count  # a place with any error is left out, not half-shown
    _unknown_fields(item, SERVICE_FIELDS, path, report)
    missing = [key for key in SERVICE_REQUIRED if key not in item]
    for key in missing:
        report.error(path, item.line, f"le champ « {key} » est obligatoire")
    service_id = _text(item, "id", path, report)
    if service_id and not ID_PATTERN.match(service_id):
        report.error(path, item.line_of("id"), f"identifiant « {service_id} » invalide (a-z, 0-9, -)")
        return None
    insee = _text(item, "commune_insee", path, report)
    if insee and insee not in communes:
        report.error(path, item.line_of("commune_insee"), f"commune « {insee} » inconnue de communes.yaml")
    postcode = _text(item, "postcode", path, report) or None
    if postcode and not POSTCODE_94.match(postcode):
        report.error(path, item.line_of("postcode"), f"code postal « {postcode} » hors du Val-de-Marne")
    website = _text(item, "website", path, report) or None
    if website and not is_valid_url(website):
        report.error(path, item.line_of("website"), f"adresse web invalide « {website} »")
    phone = _text(item, "phone", path, report) or None
    if phone and not re.fullmatch(r"0\d( \d\d){4}", phone):
        report.error(path, item.line_of("phone"), f"téléphone « {phone} » : format attendu 01 23 45 67 89")
    sources = _strings(item, "sources", path, report, required=True)
    _check_sources(sources, item, path, report)
    verified = _verified(item, path, report, today)
    position = _position(item, path, report) if "lat" in item and "lon" in item else None
    kind = _text(item, "kind", path, report)
    if report.error_count > errors_before or position is None or verified is None:
        return None
    return Service(
        id=service_id,
        kind=kind,
        name=_text(item, "name", path, report),
        commune_insee=insee,
        lat=position[0],
        lon=position[1],
        sources=sources,
        verified=verified,
        approximate_position=bool(item.get("approximate_position", False)),
        address=_text(item, "address", path, report) or None,
        postcode=postcode,
        phone=phone,
        email=_text(item, "email", path, report) or None,
        website=website,
        attached_to=_text(item, "attached_to", path, report) or None,
        note=_text(item, "note", path, report) or None,
        data_as_of=_text(item, "data_as_of", path, report) or None,
        topics=_strings(item, "topics", path, report),
        file=str(path),
        line=item.line,
    )


# --- language -----------------------------------------------------------------------------

def _load_language(path: Path, report: _Report) -> Language:
    data = _read(path, report)
    doc = _mapping(data, path, 1, "language.yaml", report) if data is not None else None
    if doc is None:
        return Language()
    _unknown_fields(doc, {"replacements", "stopwords", "politeness", "intents"}, path, report)
    replacements: dict[tuple[str, ...], tuple[str, ...]] = {}
    raw = doc.get("replacements") or LineDict()
    if not isinstance(raw, dict):
        report.error(path, doc.line_of("replacements"), "« replacements » doit associer « écrit: compris »")
        raw = {}
    for written, meant in raw.items():
        if not isinstance(meant, str):
            report.error(path, raw.line_of(written), f"« {written} » : la forme comprise doit être un texte")
            continue
        key = tuple(fold(written).split())
        if not key:
            report.error(path, raw.line_of(written), f"« {written} » : forme écrite vide")
            continue
        replacements[key] = tuple(fold(meant).split())
    stopwords = frozenset(fold(w) for w in _strings(doc, "stopwords", path, report))
    politeness = frozenset(fold(w) for w in _strings(doc, "politeness", path, report))
    return Language(replacements, stopwords, politeness, _intents(doc, path, report))


def _intents(doc: LineDict, path: Path, report: _Report) -> dict[str, tuple[str, ...]]:
    raw = doc.get("intents")
    if raw is None:
        return {}
    if not isinstance(raw, LineDict):
        report.error(path, doc.line_of("intents"), "« intents » doit associer « nom: [façons de demander] »")
        return {}
    intents: dict[str, tuple[str, ...]] = {}
    for name in raw:
        if not isinstance(name, str) or not ID_PATTERN.match(name):
            report.error(path, raw.line_of(name), f"intention « {name} » : minuscules, chiffres et tirets")
            continue
        cues = _strings(raw, name, path, report, required=True)
        if cues and all(fold(c) for c in cues):
            intents[name] = cues
        elif cues:
            report.error(path, raw.line_of(name), f"intention « {name} » : une façon de demander est vide")
    if intents and WHERE_INTENT not in intents:
        report.warn(
            path, doc.line_of("intents"),
            f"« intents » sans « {WHERE_INTENT} » : un message court qui nomme une commune "
            "ne sera plus lu comme « où ? »",
        )
    return intents


def _load_outside(path: Path, report: _Report) -> tuple[OutsidePlace, ...]:
    data = _read(path, report, required=False)
    doc = _mapping(data, path, 1, "outside_places.yaml", report) if data is not None else None
    if doc is None:
        return ()
    places = []
    for department, names in doc.items():
        if department == "sources":
            continue
        if not isinstance(names, list):
            report.error(path, doc.line_of(department), f"« {department} » doit être une liste de noms")
            continue
        places.extend(OutsidePlace(str(name), str(department)) for name in names)
    return tuple(places)


def _load_towns(path: Path, report: _Report) -> tuple[OutsidePlace, ...]:
    """The generated list of French towns outside the 94 (see bot/french_towns.py)."""
    data = _read(path, report, required=False)
    doc = _mapping(data, path, 1, "french_towns.yaml", report) if data is not None else None
    if doc is None:
        return ()
    places = []
    for key, marked in (("anywhere", False), ("after_a_place_word", True)):
        names = doc.get(key, [])
        if not isinstance(names, list):
            report.error(path, doc.line_of(key), f"« {key} » doit être une liste de noms")
            continue
        places.extend(OutsidePlace(str(name), "France", marked) for name in names)
    return tuple(places)


# --- FAQ ----------------------------------------------------------------------------------

def _load_faq(
    folder: Path, report: _Report, today: date, services: dict[str, Service], language: Language
) -> tuple[dict[str, Topic], dict[str, Entry]]:
    topics: dict[str, Topic] = {}
    entries: dict[str, Entry] = {}
    follow_ups: list[tuple[Path, int, str, str]] = []
    if not folder.is_dir():
        report.error(folder, 1, "dossier faq/ introuvable")
        return topics, entries
    service_kinds = {s.kind for s in services.values()}
    for path in sorted(folder.glob("*.yaml")):
        data = _read(path, report)
        doc = _mapping(data, path, 1, "un fichier de thème", report) if data is not None else None
        if doc is None:
            continue
        _unknown_fields(doc, TOPIC_FIELDS, path, report)
        topic_id = _text(doc, "topic", path, report, required=True)
        title = _text(doc, "title", path, report, required=True)
        if topic_id and not ID_PATTERN.match(topic_id):
            report.error(
                path, doc.line_of("topic"),
                f"nom de thème « {topic_id} » invalide : minuscules, chiffres et tirets, 40 caractères au plus",
            )
            continue
        if not (topic_id and title):
            continue  # reported above; its entries cannot be shown without their theme
        if len(title) > 60:
            report.error(path, doc.line_of("title"), "le titre du thème doit tenir sur un bouton (60 caractères max.)")
        if topic_id != path.stem:
            report.error(
                path, doc.line_of("topic"),
                f"le thème « {topic_id} » doit s'appeler comme son fichier « {path.stem} »",
            )
        if topic_id in topics:
            report.error(path, doc.line_of("topic"), f"le thème « {topic_id} » existe déjà")
            continue
        items = doc.get("entries")
        if not isinstance(items, LineList) or not items:
            report.error(path, doc.line_of("entries"), "« entries » doit être une liste d'entrées non vide")
            continue
        ids: list[str] = []
        for index, raw in enumerate(items):
            item = _mapping(raw, path, items.line_of(index), "une entrée", report)
            if item is None:
                continue
            entry = _entry(item, topic_id, path, report, today, service_kinds, language)
            if entry is None:
                continue
            if entry.id in entries:
                other = entries[entry.id]
                report.error(
                    path, item.line_of("id"),
                    f"l'identifiant « {entry.id} » est déjà utilisé ({other.file}:{other.line})",
                )
                continue
            entries[entry.id] = entry
            ids.append(entry.id)
            follow_ups.extend((path, item.line_of("follow_up"), entry.id, f) for f in entry.follow_up)
        topics[topic_id] = Topic(topic_id, title, tuple(ids), str(path))
    for path, line, entry_id, target in follow_ups:
        if target not in entries:
            report.error(path, line, f"« follow_up » de « {entry_id} » : aucune entrée « {target} »")
    return topics, entries


def _entry(
    item: LineDict, topic: str, path: Path, report: _Report, today: date, service_kinds: set[str],
    language: Language,
) -> Entry | None:
    errors_before = report.error_count  # an entry with any error is left out, not half-shown
    _unknown_fields(item, ENTRY_FIELDS, path, report)
    entry_id = _text(item, "id", path, report, required=True)
    if entry_id and not ID_PATTERN.match(entry_id):
        report.error(
            path, item.line_of("id"),
            f"identifiant « {entry_id} » invalide : minuscules, chiffres et tirets, 40 caractères au plus",
        )
        entry_id = ""
    questions = _strings(item, "questions", path, report, required=True)
    answer = _text(item, "answer", path, report, required=True)
    sources = _strings(item, "sources", path, report, required=True)
    _check_sources(sources, item, path, report)
    verified = _verified(item, path, report, today)
    if re.search(r"<[a-zA-Z/][^>]*>|\*\*|\]\(", answer):
        report.warn(
            path, item.line_of("answer"),
            "la réponse contient du HTML ou du Markdown : il sera affiché tel quel, écrivez du texte simple",
        )
    _check_plain_french(answer, item, path, report)
    links = _links(item, path, report)
    if item.get("triggers") and topic != SAFETY_TOPIC:
        report.error(path, item.line_of("triggers"), f"« triggers » est réservé au thème « {SAFETY_TOPIC} »")
    triggers = _strings(item, "triggers", path, report)
    _check_triggers(triggers, item, path, report)
    service = _text(item, "service", path, report) or None
    if service and service not in service_kinds:
        report.error(
            path, item.line_of("service"), f"« service » : aucun lieu de type « {service} » dans services.yaml"
        )
    needs_place = item.get("needs_place", False)
    if not isinstance(needs_place, bool):
        report.error(path, item.line_of("needs_place"), "« needs_place » vaut true ou false")
        needs_place = False
    if needs_place and not service:
        report.error(path, item.line_of("needs_place"), "« needs_place » demande un « service »")
        needs_place = False
    intents = _entry_intents(item, path, report, language)
    translations = _translations(item, answer, path, report)
    if report.error_count > errors_before or not (entry_id and questions and answer and sources and verified):
        return None
    return Entry(
        id=entry_id,
        topic=topic,
        questions=questions,
        answer=answer,
        sources=sources,
        verified=verified,
        links=links,
        follow_up=_strings(item, "follow_up", path, report),
        keywords=_strings(item, "keywords", path, report),
        triggers=triggers,
        service=service,
        needs_place=needs_place,
        intents=intents,
        translations=translations,
        file=str(path),
        line=item.line,
    )


def _translations(item: LineDict, answer: str, path: Path, report: _Report) -> dict[str, Translation]:
    """The entry in other languages; one made from an older French answer is only a warning."""
    raw = item.get("translations")
    if raw is None:
        return {}
    table = _mapping(raw, path, item.line_of("translations"), "« translations »", report)
    if table is None:
        return {}
    found: dict[str, Translation] = {}
    for lang, value in table.items():
        line = table.line_of(lang)
        if lang not in TRANSLATED_LANGUAGES:
            known = ", ".join(TRANSLATED_LANGUAGES)
            report.error(path, line, f"« translations » : langue « {lang} » inconnue (connues : {known})")
            continue
        fields = _mapping(value, path, line, f"« translations » / « {lang} »", report)
        if fields is None:
            continue
        _unknown_fields(fields, TRANSLATION_FIELDS, path, report)
        title = _text(fields, "title", path, report, required=True)
        text = _text(fields, "answer", path, report, required=True)
        version = _text(fields, "translates", path, report, required=True)
        if not (title and text and version):
            continue
        if version != answer_version(answer):
            report.warn(
                path, fields.line_of("translates"),
                f"traduction « {lang} » faite sur une ancienne version de la réponse en français : "
                f"à revoir, puis mettez « translates: {answer_version(answer)} »",
            )
        found[lang] = Translation(title, text, version)
    return found


def _check_plain_french(answer: str, item: LineDict, path: Path, report: _Report) -> None:
    """Answers a parent with little French can follow: short sentences, a short answer.

    Sentence length is the measure: French readability formulas (textstat's) count syllables
    and reward short words, which says little of a list of steps with names like
    « psychologue de l'Éducation nationale ». The bars are in the maintainers' guide.
    """
    sentences = [s for s in _SENTENCE.split(answer) if s.strip()]
    longest = max((len(s.split()) for s in sentences), default=0)
    if longest > MAX_SENTENCE_WORDS:
        report.warn(path, item.line_of("answer"),
                    f"une phrase de {longest} mots : coupez-la (au plus {MAX_SENTENCE_WORDS} mots, "
                    "pour les parents qui lisent peu le français)")
    if len(answer) > MAX_ANSWER_CHARS:
        report.warn(path, item.line_of("answer"),
                    f"réponse de {len(answer)} caractères : gardez l'essentiel (au plus {MAX_ANSWER_CHARS})")


def _check_triggers(triggers: tuple[str, ...], item: LineDict, path: Path, report: _Report) -> None:
    """A "*" only ends a trigger, after a few letters: "l*" would fire on every word in l."""
    raw = item.get("triggers")
    for index, trigger in enumerate(triggers):
        line = raw.line_of(index) if isinstance(raw, LineList) else item.line_of("triggers")
        if "*" in trigger.rstrip("*") or trigger.endswith("**"):
            report.warn(path, line, f"déclencheur « {trigger} » : « * » seulement à la fin, une fois")
        elif trigger.endswith("*") and len(fold(trigger).split()[-1]) < MIN_PREFIX_LETTERS:
            report.warn(
                path, line,
                f"déclencheur « {trigger} » : au moins {MIN_PREFIX_LETTERS} lettres avant « * », sinon trop de mots",
            )


def _entry_intents(item: LineDict, path: Path, report: _Report, language: Language) -> tuple[str, ...]:
    """The entry's intents; an unknown one is only a warning: intents break ties, nothing more."""
    raw = item.get("intent")
    kept = []
    for index, intent in enumerate(_strings(item, "intent", path, report)):
        if intent in language.intents:
            kept.append(intent)
            continue
        line = raw.line_of(index) if isinstance(raw, LineList) else item.line_of("intent")
        known = ", ".join(sorted(language.intents)) or "aucune"
        report.warn(
            path, line,
            f"« intent » : « {intent} » n'est pas dans « intents » de language.yaml (connues : {known}) ; ignorée",
        )
    return tuple(kept)


def _links(item: LineDict, path: Path, report: _Report) -> tuple[Link, ...]:
    raw = item.get("links")
    if raw is None:
        return ()
    if not isinstance(raw, LineList):
        report.error(path, item.line_of("links"), "« links » doit être une liste de {title: ..., url: ...}")
        return ()
    links = []
    for index, link in enumerate(raw):
        line = raw.line_of(index)
        if not isinstance(link, LineDict) or not all(isinstance(link.get(k), str) for k in ("title", "url")):
            report.error(path, line, "un lien doit avoir « title » et « url »")
            continue
        if not is_valid_url(link["url"]):
            report.error(path, line, f"adresse web invalide « {link['url']} »")
            continue
        if len(link["title"]) > 60:
            report.error(path, line, "le titre d'un lien doit tenir sur un bouton (60 caractères au plus)")
            continue
        links.append(Link(link["title"].strip(), link["url"].strip()))
    return tuple(links)


# --- the question set ---------------------------------------------------------------------

def _check_eval(path: Path, report: _Report, kb: KnowledgeBase) -> None:
    """The question set names entries: a renamed entry must not silently break the eval."""
    data = _read(path, report, required=False)
    if not isinstance(data, LineDict):
        return
    questions = data.get("questions")
    if not isinstance(questions, LineList):
        report.error(path, data.line_of("questions"), "« questions » doit être une liste")
        return
    for index, item in enumerate(questions):
        line = questions.line_of(index)
        if not isinstance(item, LineDict) or not isinstance(item.get("q"), str):
            report.error(path, line, "chaque question a un texte « q »")
            continue
        for expected in expectations(item.get("expect")):
            if expected != "decline" and expected not in kb.entries:
                report.error(path, item.line_of("expect"), f"« expect » : aucune entrée « {expected} »")


def expectations(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()
