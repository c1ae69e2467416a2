"""Load the maintainers' YAML into a KnowledgeBase, collecting every problem as file:line."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from bot.knowledge.fields import (
    ID_PATTERN,
    ID_RULE,
    STALE_AFTER_DAYS,
    Field,
    Problem,
    Report,
    Schema,
    Where,
    accepted,
    boolean,
    button_text,
    identifier,
    is_valid_url,
    links,
    number,
    pattern,
    sources,
    text,
    texts,
    url,
    verified_date,
)
from bot.knowledge.model import (
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
from bot.knowledge.yaml_source import LineDict, LineList, YamlError, load_yaml
from bot.settings import PROJECT_DIR
from bot.text import fold

__all__ = ["STALE_AFTER_DAYS", "Problem", "expectations", "is_valid_url", "load_knowledge"]

# Plain French (see _check_plain_french): a sentence ends at . ! ? : ; or a line break.
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+|\n")
MAX_SENTENCE_WORDS = 25
MAX_ANSWER_CHARS = 900
POSTCODE_94 = re.compile(r"^94\d{3}$")
SAFETY_TOPIC = "securite"
MIN_PREFIX_LETTERS = 4  # before the "*" of a prefix trigger
WHERE_INTENT = "endroit"  # the intent a short message naming a town asks (see bot/understanding/engine.py)
TRANSLATED_LANGUAGES = LANGUAGES[1:]
# A generous box around the Val-de-Marne: catches swapped or mistyped coordinates.
LAT_RANGE = (48.6, 48.95)
LON_RANGE = (2.25, 2.65)


_phone = pattern(r"0\d( \d\d){4}", "téléphone « {value} » : format attendu 01 23 45 67 89")
_postcode = pattern(r"94\d{3}", "code postal « {value} » hors du Val-de-Marne")
_insee = pattern(r"94\d{3}", "code INSEE « {value} » hors du Val-de-Marne", drop=True)
_topic_name = pattern(ID_PATTERN.pattern, "nom de thème « {value} » invalide : " + ID_RULE, drop=True)


def _postcodes(item: LineDict, key: str, where: Where, required: bool) -> tuple[str, ...]:
    found = texts(item, key, where, required)
    for postcode in found:
        if not POSTCODE_94.match(postcode):
            where.error(item.line_of(key), f"code postal « {postcode} » hors du Val-de-Marne (94xxx attendu)")
    return found


# --- the fields of each kind of item, declared once (see bot/knowledge/fields.py) --------------------

ID_GUIDE = "minuscules, chiffres, tirets, 40 caractères au plus, unique dans toute la base"
SOURCES_GUIDE = "d'où viennent les faits (liste de textes)"
VERIFIED_GUIDE = "date `AAAA-MM-JJ`, sans guillemets, pas dans le futur : le jour où vous avez revérifié"
ENTRY = Schema("une entrée", (
    Field("id", identifier, True, ID_GUIDE),
    Field("questions", texts, True, "les façons de demander ; **la première est le titre**"),
    Field("answer", text, True, "la réponse, en texte simple"),
    Field("sources", sources, True, SOURCES_GUIDE),
    Field("verified", verified_date, True, VERIFIED_GUIDE),
    Field("keywords", texts, False, "mots ou noms propres à cette entrée"),
    Field("links", links, False, "boutons vers des sites : `title` (60 caractères au plus) et `url`"),
    Field("follow_up", texts, False, "entrées proposées après la réponse (leurs `id`)"),
    Field("service", text, False, "le type de lieu à lister (`cio`…), présent dans `services.yaml`"),
    Field("needs_place", boolean, False, "`true` : demander la commune, puis lister les lieux (demande un `service`)"),
    Field("intent", texts, False, "ce que l'entrée répond dans son thème : `quoi`, `qui`, `prix`…"),
    Field("triggers", texts, False, "mots d'alerte, réservés au thème `securite`"),
    Field("audience", accepted, False, "accepté par `check`, pas encore utilisé par le bot"),
    Field("translations", accepted, False, "la réponse dans d'autres langues (section 3 bis)"),
))
TRANSLATION = Schema("une traduction", (
    Field("title", text, True, "la première question, traduite"),
    Field("answer", text, True, "la réponse, traduite ; numéros, adresses et liens comme en français"),
    Field("translates", text, True, "la version de la réponse française traduite (donnée par `check`)"),
))
TOPIC = Schema("un fichier de thème", (
    Field("topic", _topic_name, True, "le nom du thème : celui du fichier, sans `.yaml`"),
    Field("title", button_text, True, "le titre du thème, sur un bouton (60 caractères au plus)"),
    Field("description", text, False, "une phrase pour les mainteneurs"),
    Field("entries", accepted, True, "les entrées du thème"),
))
SERVICE = Schema("un lieu", (
    Field("id", identifier, True, ID_GUIDE),
    Field("kind", text, True, "le type de lieu : `cio`, `point-accueil`…"),
    Field("name", text, True, "le nom affiché"),
    Field("commune_insee", text, True, "code INSEE de la commune, entre guillemets, présent dans `communes.yaml`"),
    Field("lat", number, True, "latitude (≈ 48,7), avec un point"),
    Field("lon", number, True, "longitude (≈ 2,4), avec un point"),
    Field("sources", sources, True, SOURCES_GUIDE),
    Field("verified", verified_date, True, VERIFIED_GUIDE),
    Field("address", text, False, "numéro et rue, seulement si une source la donne"),
    Field("postcode", _postcode, False, "`\"94xxx\"`, code ordinaire de la commune (un code CEDEX va dans `note`)"),
    Field("phone", _phone, False, "au format exact `\"01 23 45 67 89\"`"),
    Field("email", text, False, "adresse de courriel"),
    Field("website", url, False, "site web (contrôlé, pas encore affiché)"),
    Field("approximate_position", boolean, False, "`true` quand `lat`/`lon` sont ceux de la mairie"),
    Field("attached_to", text, False, "`id` du lieu de rattachement (point d'accueil → CIO)"),
    Field("note", text, False, "courte phrase pour les familles"),
    Field("data_as_of", text, False, "date des données de la source (`\"AAAA-MM\"` ou `\"AAAA\"`)"),
    Field("topics", texts, False, "les thèmes sous lesquels ce lieu s'affiche"),
))
LANGUAGE = Schema("language.yaml", (
    Field("replacements", accepted, False, "« écrit: compris » : les variantes d'orthographe"),
    Field("stopwords", texts, False, "les mots qui ne disent pas ce qui est demandé"),
    Field("politeness", texts, False, "les formules de politesse"),
    Field("intents", accepted, False, "« nom: [façons de demander] »"),
))
COMMUNE = Schema("une commune", (
    Field("insee", _insee, True, "code INSEE (94xxx), entre guillemets"),
    Field("name", text, True, "nom officiel"),
    Field("postcodes", _postcodes, True, "codes postaux, entre guillemets"),
    Field("lat", number, True, "latitude de la mairie"),
    Field("lon", number, True, "longitude de la mairie"),
    Field("aliases", texts, False, "formes courtes que les gens tapent"),
))


def load_knowledge(
    root: Path, today: date | None = None, check_eval: bool = True, parse: Callable[[Path], Any] = load_yaml
) -> tuple[KnowledgeBase, list[Problem]]:
    """Load everything under `root`; what is broken is reported and left out, never fatal.

    `check_eval` also checks that the question set names existing entries (maintainers'
    `check`); the bot itself skips it to start faster. `parse` reads a file as `load_yaml` does.
    """
    today = today or date.today()
    report = Report(root, parse)
    if not root.is_dir():
        report.error(root, 1, "dossier de connaissances introuvable")
    communes, declared_communes = _load_communes(root / "communes.yaml", report, today)
    services = _load_services(root / "services.yaml", report, communes, today, declared_communes)
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


def _in_menu_order(path: Path, topics: dict[str, Topic], report: Report) -> dict[str, Topic]:
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


def _read(path: Path, report: Report, required: bool = True) -> Any:
    if not path.exists():
        if required:
            report.error(path, 1, "fichier manquant")
        return None
    try:
        data = report.parse(path)
    except YamlError as exc:
        report.error(path, exc.line, exc.message)
        return None
    if data is None:
        report.error(path, 1, "fichier vide")
    return data


def _mapping(value: Any, path: Path, line: int, what: str, report: Report) -> LineDict | None:
    if isinstance(value, LineDict):
        return value
    report.error(path, line, f"{what} doit être une liste de champs « nom: valeur »")
    return None


def _position(values: dict[str, Any], item: LineDict, where: Where) -> tuple[float, float] | None:
    lat, lon = values.get("lat"), values.get("lon")
    if lat is None or lon is None:
        return None
    if not (LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]):
        where.error(item.line_of("lat"),
                    f"coordonnées hors du Val-de-Marne ({lat}, {lon}) : latitude et longitude inversées ?")
        return None
    return lat, lon


# --- communes -----------------------------------------------------------------------------

def _load_communes(path: Path, report: Report, today: date) -> tuple[dict[str, Commune], set[str]]:
    """The communes loaded, and every INSEE code written (one left out for an error included)."""
    data = _read(path, report)
    doc = _mapping(data, path, 1, "communes.yaml", report) if data is not None else None
    if doc is None:
        return {}, set()
    where = Where(path, report, today)
    sources(doc, "sources", where, True)
    verified_date(doc, "verified", where, True)
    items = doc.get("communes")
    if not isinstance(items, LineList):
        report.error(path, doc.line_of("communes"), "« communes » doit être une liste")
        return {}, set()
    communes: dict[str, Commune] = {}
    declared: set[str] = set()
    alias_owner: dict[str, str] = {}
    for index, raw in enumerate(items):
        errors_before = report.error_count  # a commune with any error is left out whole
        item, values = COMMUNE.read(raw, items.line_of(index), where)
        if item is None:
            continue
        insee, name = values["insee"], values["name"]
        declared.add(insee)
        position = _position(values, item, where)
        if insee in communes:
            where.error(item.line_of("insee"), f"la commune {insee} est déjà listée")
        for alias in (name, *values["aliases"]):
            key = fold(alias) or alias.strip()  # a name in Arabic or Chinese script is kept as written
            owner = alias_owner.setdefault(key, insee)
            if owner != insee:
                where.error(item.line_of("aliases"), f"le nom « {alias} » désigne déjà la commune {owner}")
        if report.error_count == errors_before and position is not None:
            communes[insee] = Commune(insee, name, values["postcodes"], position[0], position[1], values["aliases"])
    return communes, declared


# --- services -----------------------------------------------------------------------------

def _load_services(
    path: Path, report: Report, communes: dict[str, Commune], today: date, declared_communes: set[str]
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
    attached: list[tuple[LineDict, Service]] = []
    where = Where(path, report, today)
    for index, raw in enumerate(items):
        item, service = _service(raw, items.line_of(index), where, communes, declared_communes)
        if item is None or service is None:
            continue
        if service.id in services:
            report.error(path, item.line_of("id"), f"l'identifiant « {service.id} » est déjà utilisé")
            continue
        services[service.id] = service
        if service.attached_to:
            attached.append((item, service))
    for item, service in attached:
        if service.attached_to not in services:
            report.error(path, item.line_of("attached_to"),
                         f"« attached_to » : service « {service.attached_to} » inconnu")
            del services[service.id]  # left out whole, as for any other error
    return services


def _service(
    raw: Any, line: int, where: Where, communes: dict[str, Commune], declared_communes: set[str]
) -> tuple[LineDict | None, Service | None]:
    errors_before = where.report.error_count  # a place with any error is left out, not half-shown
    item, values = SERVICE.read(raw, line, where)
    if item is None:
        return None, None
    insee = values["commune_insee"]
    if insee and insee in declared_communes and insee not in communes:
        where.error(item.line_of("commune_insee"),
                    f"commune « {insee} » écartée pour une erreur dans communes.yaml : corrigez-la d'abord")
    elif insee and insee not in communes:
        where.error(item.line_of("commune_insee"), f"commune « {insee} » inconnue de communes.yaml")
    position = _position(values, item, where)
    if where.report.error_count > errors_before or position is None or values["verified"] is None:
        return item, None
    service = Service(
        id=values["id"], kind=values["kind"], name=values["name"], commune_insee=insee,
        lat=position[0], lon=position[1], sources=values["sources"], verified=values["verified"],
        approximate_position=values["approximate_position"],
        address=values["address"] or None, postcode=values["postcode"] or None,
        phone=values["phone"] or None, email=values["email"] or None, website=values["website"] or None,
        attached_to=values["attached_to"] or None, note=values["note"] or None,
        data_as_of=values["data_as_of"] or None, topics=values["topics"],
        file=str(where.path), line=item.line,
    )
    return item, service


# --- language -----------------------------------------------------------------------------

def _load_language(path: Path, report: Report) -> Language:
    data = _read(path, report)
    doc = _mapping(data, path, 1, "language.yaml", report) if data is not None else None
    if doc is None:
        return Language()
    where = Where(path, report, date.today())
    doc, values = LANGUAGE.read(doc, 1, where)
    assert doc is not None  # a mapping, checked above
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
    stopwords = frozenset(fold(w) for w in values["stopwords"])
    politeness = frozenset(fold(w) for w in values["politeness"])
    return Language(replacements, stopwords, politeness, _intents(doc, where))


def _intents(doc: LineDict, where: Where) -> dict[str, tuple[str, ...]]:
    path, report = where.path, where.report
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
        cues = texts(raw, name, where, True)
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


def _load_outside(path: Path, report: Report) -> tuple[OutsidePlace, ...]:
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


def _load_towns(path: Path, report: Report) -> tuple[OutsidePlace, ...]:
    """The generated list of French towns outside the 94 (see bot/maintainers/french_towns.py)."""
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
    folder: Path, report: Report, today: date, services: dict[str, Service], language: Language
) -> tuple[dict[str, Topic], dict[str, Entry]]:
    topics: dict[str, Topic] = {}
    entries: dict[str, Entry] = {}
    declared: set[str] = set()  # every id written, even of an entry left out for an error
    follow_ups: list[tuple[Where, int, str, str, Entry | None]] = []
    if not folder.is_dir():
        report.error(folder, 1, "dossier faq/ introuvable")
        return topics, entries
    service_kinds = {s.kind for s in services.values()}
    for path in sorted(folder.glob("*.yaml")):
        data = _read(path, report)
        if data is None:
            continue
        where = Where(path, report, today)
        doc, values = TOPIC.read(data, 1, where)
        if doc is None:
            continue
        topic_id, title = values["topic"], values["title"]
        if not (topic_id and title):
            continue  # reported: its entries cannot be shown without their theme
        if topic_id != path.stem:
            where.error(doc.line_of("topic"),
                        f"le thème « {topic_id} » doit s'appeler comme son fichier « {path.stem} »")
        if topic_id in topics:
            where.error(doc.line_of("topic"), f"le thème « {topic_id} » existe déjà")
            continue
        items = doc.get("entries")
        if not isinstance(items, LineList) or not items:
            where.error(doc.line_of("entries"), "« entries » doit être une liste d'entrées non vide")
            continue
        ids: list[str] = []
        for index, raw in enumerate(items):
            item, entry = _entry(raw, items.line_of(index), topic_id, where, service_kinds, language)
            if item is None:
                continue
            entry_id = entry.id if entry else str(item.get("id", ""))
            declared.add(entry_id)
            # Its follow-ups are checked even when it is left out: every error at once.
            duplicate = entry is not None and entry.id in entries
            targets = item.get("follow_up")
            for target in targets if isinstance(targets, list) else [targets] if targets else []:
                loaded = None if duplicate else entry  # only this item is left out for its follow_up
                follow_ups.append((where, item.line_of("follow_up"), entry_id, str(target), loaded))
            if entry is None:
                continue
            if duplicate:
                other = entries[entry.id]
                where.error(item.line_of("id"),
                            f"l'identifiant « {entry.id} » est déjà utilisé ({other.file}:{other.line})")
                continue
            entries[entry.id] = entry
            ids.append(entry.id)
        topics[topic_id] = Topic(topic_id, title, tuple(ids), str(path))
    for where, line, entry_id, target, loaded in follow_ups:
        if target not in declared:
            where.error(line, f"« follow_up » de « {entry_id} » : aucune entrée « {target} »")
            if loaded is not None and entries.get(entry_id) is loaded:
                del entries[entry_id]  # left out whole, as for any other error
    # A follow-up to an entry left out for its own error (reported there) is simply not offered.
    for entry_id, entry in list(entries.items()):
        kept = tuple(f for f in entry.follow_up if f in entries)
        if kept != entry.follow_up:
            entries[entry_id] = replace(entry, follow_up=kept)
    for topic_id, topic in list(topics.items()):
        topics[topic_id] = replace(topic, entry_ids=tuple(i for i in topic.entry_ids if i in entries))
    return topics, entries


def _entry(
    raw: Any, line: int, topic: str, where: Where, service_kinds: set[str], language: Language,
) -> tuple[LineDict | None, Entry | None]:
    """An entry, or None when it has any error (all of them reported)."""
    errors_before = where.report.error_count
    item, values = ENTRY.read(raw, line, where)
    if item is None:
        return None, None
    answer = values["answer"]
    if re.search(r"<[a-zA-Z/][^>]*>|\*\*|\]\(", answer):
        where.warn(item.line_of("answer"),
                   "la réponse contient du HTML ou du Markdown : il sera affiché tel quel, écrivez du texte simple")
    _check_plain_french(answer, item, where.path, where.report)
    triggers = values["triggers"]
    if triggers and topic != SAFETY_TOPIC:
        where.error(item.line_of("triggers"), f"« triggers » est réservé au thème « {SAFETY_TOPIC} »")
    _check_triggers(triggers, item, where.path, where.report)
    service = values["service"] or None
    if service and service not in service_kinds:
        where.error(item.line_of("service"), f"« service » : aucun lieu de type « {service} » dans services.yaml")
    if values["needs_place"] and not service:
        where.error(item.line_of("needs_place"), "« needs_place » demande un « service »")
    intents = _entry_intents(item, values["intent"], where, language)
    translations = _translations(item, answer, where)
    if where.report.error_count > errors_before or values["verified"] is None:
        return item, None
    return item, Entry(
        id=values["id"], topic=topic, questions=values["questions"], answer=answer,
        sources=values["sources"], verified=values["verified"],
        links=tuple(Link(title, url) for title, url in values["links"]),
        follow_up=values["follow_up"], keywords=values["keywords"], triggers=triggers,
        service=service, needs_place=values["needs_place"], intents=intents,
        translations=translations, file=str(where.path), line=item.line,
    )


def _translations(item: LineDict, answer: str, where: Where) -> dict[str, Translation]:
    """The entry in other languages; one made from an older French answer is only a warning."""
    raw = item.get("translations")
    if raw is None:
        return {}
    if not isinstance(raw, LineDict):
        where.error(item.line_of("translations"),
                    "« translations » doit associer « langue: {title, answer, translates} »")
        return {}
    found: dict[str, Translation] = {}
    for lang, value in raw.items():
        line = raw.line_of(lang)
        if lang not in TRANSLATED_LANGUAGES:
            known = ", ".join(TRANSLATED_LANGUAGES)
            where.error(line, f"« translations » : langue « {lang} » inconnue (connues : {known})")
            continue
        fields, values = TRANSLATION.read(value, line, where)
        if fields is None or not all(values.values()):
            continue
        if values["translates"] != answer_version(answer):
            where.warn(fields.line_of("translates"),
                       f"traduction « {lang} » faite sur une ancienne version de la réponse en français : "
                       f"à revoir, puis mettez « translates: {answer_version(answer)} »")
        found[lang] = Translation(values["title"], values["answer"], values["translates"])
    return found


def _check_plain_french(answer: str, item: LineDict, path: Path, report: Report) -> None:
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


def _check_triggers(triggers: tuple[str, ...], item: LineDict, path: Path, report: Report) -> None:
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


def _entry_intents(
    item: LineDict, intents: tuple[str, ...], where: Where, language: Language
) -> tuple[str, ...]:
    """The entry's intents; an unknown one is only a warning: intents break ties, nothing more."""
    raw = item.get("intent")
    kept = []
    for index, intent in enumerate(intents):
        if intent in language.intents:
            kept.append(intent)
            continue
        line = raw.line_of(index) if isinstance(raw, LineList) else item.line_of("intent")
        known = ", ".join(sorted(language.intents)) or "aucune"
        where.warn(line, f"« intent » : « {intent} » n'est pas dans « intents » de language.yaml "
                         f"(connues : {known}) ; ignorée")
    return tuple(kept)


# --- the question set ---------------------------------------------------------------------

def _check_eval(path: Path, report: Report, kb: KnowledgeBase) -> None:
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


# --- the maintainers' guide ---------------------------------------------------------------

GUIDE_TABLES = {"entrée": ENTRY, "lieu": SERVICE}
_GUIDE_BLOCK = re.compile(r"(<!-- champs: (\w+)[^>]*-->\n)(.*?)(<!-- fin -->)", re.DOTALL)


def guide_with_tables(guide: str) -> str:
    """The guide with each table of fields made from its schema (between its markers)."""
    def table(match: re.Match[str]) -> str:
        schema = GUIDE_TABLES[match.group(2)]
        return f"{match.group(1)}{schema.guide_table()}\n{match.group(4)}"

    return _GUIDE_BLOCK.sub(table, guide)


if __name__ == "__main__":  # python -m bot.knowledge.loader --guide: rewrite the guide's tables of fields
    import sys

    if sys.argv[1:] == ["--guide"]:
        guide_path = PROJECT_DIR / "knowledge" / "README.md"
        guide_path.write_text(guide_with_tables(guide_path.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"{guide_path} : tableaux des champs réécrits")
