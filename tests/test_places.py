"""Finding places in messages and the nearest services, checked against the data itself."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from bot.places import distance_km
from bot.text import fold
from bot.understanding.engine import SERVICE, Conversation, Engine

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
COMMUNES = yaml.safe_load((KNOWLEDGE / "communes.yaml").read_text(encoding="utf-8"))["communes"]
SERVICES = yaml.safe_load((KNOWLEDGE / "services.yaml").read_text(encoding="utf-8"))["services"]
IDS = [c["insee"] for c in COMMUNES]
COMMUNE_POSITION = {c["insee"]: (c["lat"], c["lon"]) for c in COMMUNES}


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Written again here on purpose: the test must not trust the code it checks."""
    r = 6371.0
    a = (
        math.sin(math.radians(lat2 - lat1) / 2) ** 2
        + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * r * math.asin(math.sqrt(a))


def found_insee(engine: Engine, text: str) -> str | None:
    place = engine.gazetteer.find(text)
    return place.commune.insee if place and place.commune else None


def found_all(engine: Engine, text: str) -> set[str]:
    place = engine.gazetteer.find(text)
    if place is None or place.commune is None:
        return set()
    return {c.insee for c in (place.commune, *place.also)}


def test_there_are_47_communes_with_two_postcodes_for_saint_maur() -> None:
    assert len(COMMUNES) == 47
    saint_maur = next(c for c in COMMUNES if c["insee"] == "94068")
    assert set(saint_maur["postcodes"]) == {"94100", "94210"}


@pytest.mark.parametrize("commune", COMMUNES, ids=IDS)
def test_official_name_inside_a_sentence(engine: Engine, commune: dict) -> None:
    assert found_insee(engine, f"bonjour j'habite à {commune['name']} depuis 2020") == commune["insee"]
    plain = commune["name"].lower().replace("-", " ").replace("é", "e").replace("è", "e").replace("ÿ", "y")
    assert found_insee(engine, f"cio {plain} svp") == commune["insee"]


@pytest.mark.parametrize("commune", [c for c in COMMUNES if c.get("aliases")], ids=lambda c: c["insee"])
def test_every_short_form(engine: Engine, commune: dict) -> None:
    for alias in commune["aliases"]:
        assert found_insee(engine, f"on est à {alias}, c'est où le cio") == commune["insee"], alias


@pytest.mark.parametrize("commune", COMMUNES, ids=IDS)
def test_every_postcode(engine: Engine, commune: dict) -> None:
    for postcode in commune["postcodes"]:
        sharing = {c["insee"] for c in COMMUNES if postcode in c["postcodes"]}
        assert commune["insee"] in sharing
        assert found_all(engine, f"mon code postal est {postcode}") == sharing


def test_shared_postcode_names_every_commune(engine: Engine) -> None:
    reply = engine.respond("cio 94440")
    assert reply.status == SERVICE
    for name in ("Marolles-en-Brie", "Santeny", "Villecresnes"):
        assert name in reply.text


@pytest.mark.parametrize("commune", COMMUNES, ids=IDS)
def test_location_inside_the_commune(engine: Engine, commune: dict) -> None:
    place = engine.gazetteer.locate(commune["lat"], commune["lon"])
    assert place.commune is not None and place.commune.insee == commune["insee"]


@pytest.mark.parametrize(
    ("text", "insee"),
    [
        ("Vitry", "94081"), ("vitry sur seine", "94081"), ("vitry sur seinne", "94081"),
        ("Villeneuve St Georges", "94078"), ("VSG", "94078"), ("l'hay les roses", "94038"),
        ("St Maur", "94068"), ("le KB", "94043"), ("94400", "94081"), ("Champigny 94500", "94017"),
        ("saint maurice", "94069"), ("Choisy le roi", "94022"),
    ],
)
def test_ways_people_write_towns(engine: Engine, text: str, insee: str) -> None:
    assert found_insee(engine, text) == insee


@pytest.mark.parametrize(
    "text",
    [
        "seine", "roi", "la marne", "les roses", "appelez-moi au 01 45 69 65 73", "en 2024",
        "mon numéro 0612345678", "il y a la queue au cio", "rentrée 2026", "10000 élèves",
        # Towns named like everyday words count only after "à", "de", "cio"...
        "je fais des tours de magie", "ça n'a pas de sens pour moi", "CAP maçon", "un jus d'orange",
        "la bourse fait 15000 euros", "c'est nice", "un exposé sur la gare",
        "rien n'a plus de sens", "plus aucun sens", "au sens large", "I want to take a gap year",
        "je veux devenir pilote d'avion", "frais de scolarité 12000 par an", "1er prix de 25000 dollars",
        "15000 €", "12500 points", "10000 balles",
    ],
)
def test_no_false_places(engine: Engine, text: str) -> None:
    place = engine.gazetteer.find(text)
    assert place is None or place.commune is None, (text, place)


@pytest.mark.parametrize("text", ["Paris 13e", "Évry", "75013", "Montreuil", "91000", "Lyon", "Marseille",
                                  "Toulouse", "Saint-Étienne", "Aix-en-Provence", "Tours", "Sens", "Mâcon",
                                  "01000", "13001", "20000", "33000", "59000", "69001", "97400"])
def test_places_outside_the_94(engine: Engine, text: str) -> None:
    place = engine.gazetteer.find(f"le cio à {text}")
    assert place is not None and place.is_outside and place.commune is None


def test_a_commune_of_the_94_wins_over_a_word_read_as_a_town(engine: Engine) -> None:
    for text, name in (("je veux devenir pilote d'avion, où est le CIO à Créteil ?", "Créteil"),
                       ("CAP de maçon à Vitry", "Vitry-sur-Seine")):
        place = engine.gazetteer.find(text)
        assert place is not None and place.commune is not None and place.commune.name == name, text


def test_a_town_named_like_a_word_stays_in_what_the_message_says(engine: Engine) -> None:
    """"sens" is only a town after "à", "cio"...: elsewhere the matcher still reads the word."""
    words = tuple(["rien", "n", "a", "plus", "de", "sens"])
    assert engine.gazetteer.strip(words, engine.gazetteer.find("rien n'a plus de sens")) == words


@pytest.mark.parametrize("code", ["00100", "96000", "99000"])
def test_numbers_that_are_no_french_postcode(engine: Engine, code: str) -> None:
    assert engine.gazetteer.find(f"le cio de {code}") is None


def test_the_generated_towns_list_is_big_and_outside_the_94(engine: Engine) -> None:
    towns = [p for p in engine.kb.outside_places if p.department == "France"]
    assert len(towns) >= 600  # France has about 650 towns of 15,000 inhabitants or more outside the 94
    in_94 = {fold(n) for c in engine.kb.communes.values() for n in (c.name, *c.aliases)}
    assert not [p.name for p in towns if fold(p.name) in in_94]
    # A town of the 94 is never read as outside, even when the list has a namesake elsewhere.
    for commune in engine.kb.communes.values():
        place = engine.gazetteer.find(f"cio {commune.name}")
        assert place is not None and place.commune is not None, commune.name


def test_position_far_away_is_outside(engine: Engine) -> None:
    assert engine.gazetteer.locate(43.30, 5.37).is_outside  # Marseille


def expected_nearest_cio(lat: float, lon: float) -> str:
    cio = [s for s in SERVICES if s["kind"] in ("cio", "point-accueil")]
    return min(cio, key=lambda s: haversine(lat, lon, s["lat"], s["lon"]))["id"]


@pytest.mark.parametrize("commune", COMMUNES, ids=IDS)
def test_nearest_cio_is_the_one_the_data_gives(engine: Engine, commune: dict) -> None:
    reply = engine.respond(f"où est le cio le plus proche de {commune['name']}")
    assert reply.status == SERVICE
    assert reply.services[0].service.id == expected_nearest_cio(commune["lat"], commune["lon"])
    distances = [s.distance_km for s in reply.services]
    assert distances == sorted(distances)


def test_distance_is_great_circle() -> None:
    # Créteil to Vincennes town halls, by the same formula written independently above.
    assert distance_km(48.778, 2.453, 48.848, 2.44) == pytest.approx(haversine(48.778, 2.453, 48.848, 2.44))
    assert 7.0 < distance_km(48.778, 2.453, 48.848, 2.44) < 9.0


def test_shared_location_answers_the_pending_request(engine: Engine) -> None:
    conversation = Conversation()
    assert engine.respond("cio le plus proche", conversation).status == "ask_location"
    reply = engine.respond_location(48.789, 2.388, conversation)  # Vitry town hall
    assert reply.status == SERVICE and reply.place is not None
    assert reply.services[0].service.id == expected_nearest_cio(48.789, 2.388)


def test_a_choice_offered_beside_a_town_answers_for_that_town(engine: Engine) -> None:
    # "Is the CIO free? we live in Créteil": the answer offers "where is the nearest CIO?"; picked
    # by its number, or by its button (which carries the town), it answers for Créteil instead
    # of asking the town again.
    for pick in ("number", "button"):
        conversation = Conversation()
        reply = engine.respond("le CIO c'est gratuit ? on habite à Créteil", conversation)
        offered = [e.id for e in reply.choices]
        assert "cio-plus-proche" in offered and reply.commune_of_choices == "94028", reply
        if pick == "number":
            chosen = engine.respond(str(reply.first_choice_number + offered.index("cio-plus-proche")), conversation)
        else:
            chosen = engine.entry_reply("cio-plus-proche", conversation, reply.commune_of_choices)
        assert chosen is not None and chosen.status == SERVICE and chosen.place is not None
        assert chosen.place.commune is not None and chosen.place.commune.insee == "94028"
        assert chosen.services[0].service.id == expected_nearest_cio(*COMMUNE_POSITION["94028"])
        assert chosen.commune_to_remember == "94028"  # given to find a CIO: kept, as PRIVACY says


def test_the_french_version_of_an_answer_keeps_its_town_for_its_choices(engine: Engine) -> None:
    # "Is the CIO free? we live in Ivry", answered in English: its "Voir en français" button
    # gives the French answer, whose "where is the nearest CIO?" still answers for Ivry.
    reply = engine.respond("is the CIO free? we live in Ivry", Conversation())
    assert reply.lang == "en" and reply.entry is not None and reply.commune_of_choices == "94041", reply
    french = engine.french_reply(reply.entry.id, Conversation(), reply.commune_of_choices)
    assert french is not None and french.lang == "fr" and french.commune_of_choices == "94041"
    located = [e for e in french.choices if e.service]
    assert located, french
    chosen = engine.entry_reply(located[0].id, Conversation(), french.commune_of_choices)
    assert chosen is not None and chosen.status == SERVICE and chosen.place is not None
    assert chosen.place.commune is not None and chosen.place.commune.insee == "94041"
    # Without a town (an older button, or none was named) the French answer offers its choices bare.
    bare = engine.french_reply(reply.entry.id, Conversation())
    assert bare is not None and bare.commune_of_choices is None


def test_a_town_is_forgotten_with_the_choices_it_came_with(engine: Engine) -> None:
    conversation = Conversation()
    engine.respond("le CIO c'est gratuit ? on habite à Créteil", conversation)
    assert conversation.last_commune == "94028"
    # A deep link names no town: it asks, whatever was said before.
    linked = engine.entry_reply("cio-plus-proche", conversation)
    assert linked is not None and linked.status == "ask_location"
    engine.respond("c'est quoi un CIO", conversation)  # no town this time
    assert conversation.last_commune is None
    typed = engine.respond("1", conversation)
    assert typed.status != SERVICE  # the new list's first choice, for no town
    # A shared position: only the commune is kept for the choices, never the position itself.
    engine.respond_location(48.789, 2.388, conversation)  # Vitry town hall
    assert conversation.last_commune in (None, "94081")


def test_a_town_outside_the_94_is_not_kept_for_the_choices(engine: Engine) -> None:
    conversation = Conversation()
    engine.respond("le CIO c'est gratuit ? on habite à Lyon", conversation)
    assert conversation.last_commune is None


def test_a_town_in_another_script_leads_to_its_cio_directly_or_in_one_tap(engine: Engine) -> None:
    # "We live in Ivry": whatever the decision (its CIO, or questions offered), the place-bound
    # choices offered answer for Ivry.
    reply = engine.respond("我们住在伊夫里", Conversation())
    located = [e for e in reply.choices if e.service]
    assert reply.services or located, reply
    for entry in located:
        chosen = engine.entry_reply(entry.id, Conversation(), reply.commune_of_choices)
        assert chosen is not None and chosen.place is not None and chosen.place.commune is not None
        assert chosen.place.commune.insee == "94041"


def test_approximate_positions_say_so(engine: Engine) -> None:
    reply = engine.respond("cio créteil")
    assert all(s.service.approximate_position for s in reply.services)
    assert "environ" in reply.text and "approximatives" in reply.text


@pytest.mark.parametrize(
    ("text", "service_id"),
    [
        ("PRE à Limeil-Brévannes, qui contacter ?", "pre-limeil-brevannes"),
        ("cité éducative à Villeneuve-Saint-Georges ?", "cite-educative-villeneuve-saint-georges"),
    ],
)
def test_places_of_the_seed_are_listed_with_the_year_of_what_is_known(
    engine: Engine, text: str, service_id: str
) -> None:
    """The 2021 seed names them (audit O8, M8): the family gets the place, its year, and no address
    the sources do not give."""
    reply = engine.respond(text)
    first = reply.services[0]
    assert first.service.id == service_id
    assert "2021" in first.service.name and first.service.address is None
    assert "mairie" in reply.text
