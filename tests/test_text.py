"""The French normaliser: how people write, reduced to words that carry meaning."""

from __future__ import annotations

import pytest

from bot.text import fold, unshouted
from bot.understanding.engine import Engine, safety_parts


def test_fold_strips_case_accents_and_punctuation() -> None:
    assert fold("Où est l'École, SVP ?!") == "ou est l ecole svp"
    assert fold("cœur") == "coeur"


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("MA FILLE EST EN 3EME ET ELLE TROUVE PAS DE STAGE", "ma fille est en 3eme et elle trouve pas de stage"),
        ("J AI PAS RECU LA BOURSE", "j ai pas recu la bourse"),
        # Acronyms among lowercase words, or among words of a script without case, stay.
        ("le CIO de Vitry et la MDPH ça marche comment", "le CIO de Vitry et la MDPH ça marche comment"),
        ("ابني مصاب بالتوحد ULIS AESH MDPH CIO في فيتري", "ابني مصاب بالتوحد ULIS AESH MDPH CIO في فيتري"),
        ("PAP ou PPS ?", "PAP ou PPS ?"),  # too short to be shouting
        ("CIO VITRY RDV", "CIO VITRY RDV"),
        # The FAQ's acronyms are kept, and do not make a message one in capitals.
        ("MON FILS A PAS D AESH DEPUIS LA RENTREE", "mon fils a pas d AESH depuis la rentree"),
        ("ULIS SEGPA EREA IME différence ?", "ULIS SEGPA EREA IME différence ?"),
        # Sentence by sentence; Turkish keeps its dotted and dotless i.
        ("Mon fils est en 4e. MON PERE ME FRAPPE QUAND IL BOIT",
         "Mon fils est en 4e. mon pere me frappe quand il boit"),
        ("KIZIM İÇİN STAJ BULAMIYORUM YARDIM EDİN", "kızım için staj bulamıyorum yardım edin"),
    ],
)
def test_a_message_in_capitals_is_read_in_lower_case(written: str, read: str) -> None:
    assert unshouted(written, frozenset({"AESH", "ULIS", "CIO", "PAP", "PPS", "MDPH"})) == read


def test_the_faq_acronyms_are_its_words_in_capitals() -> None:
    from bot.text import acronyms_of

    found = acronyms_of(["Le CIO est gratuit ?", "c koi un cio", "le CIO de Vitry", "le psy-EN et en plus",
                         "en ligne", "CIO是什么", "une AESH"])
    assert found == {"CIO", "AESH"}  # "EN" is more often "en"; "CIO" in Chinese counts too


def test_the_encoder_reads_a_message_in_capitals_as_the_same_message(engine: Engine) -> None:
    """The sentence encoder tells cases apart: in capitals, a parent's question read as another."""
    shouted = "MON FILS EST EN 3EME IL TROUVE PAS DE STAGE. ON CONNAIT PERSONNE, COMMENT ON FAIT ?"
    assert engine.semantic_text(shouted) == shouted.lower()
    assert safety_parts(shouted, engine.acronyms) == safety_parts(shouted.lower())
    assert {"CIO", "AESH", "ULIS"} <= engine.acronyms
    reply, lower = engine.respond(shouted), engine.respond(shouted.lower())
    assert reply.entry is not None and reply.entry.topic == "stage-3e"
    assert (reply.status, reply.entry) == (lower.status, lower.entry)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("3ème", "troisieme"),
        ("3eme", "troisieme"),
        ("3e", "troisieme"),
        ("3 eme", "troisieme"),
        ("troisième", "troisieme"),
        ("2nde", "seconde"),
        ("2de", "seconde"),
        ("seconde", "seconde"),
    ],
)
def test_school_years_meet(engine: Engine, written: str, expected: str) -> None:
    assert expected in engine.normaliser.words(f"stage de {written}")


def test_sms_spellings_are_understood(engine: Engine) -> None:
    words = engine.normaliser.words("c koi un cio stp")
    assert "quoi" in words and "cio" in words
    assert "trouve" in engine.normaliser.words("jtrouve pa de stage")
    assert "pourquoi" in engine.normaliser.words("pk")


def test_programme_names_become_one_word(engine: Engine) -> None:
    assert engine.normaliser.words("Jump In Tech") == ("jumpintech",)
    assert engine.normaliser.words("jumpintech") == ("jumpintech",)
    assert "prepatalents" in engine.normaliser.words("les prépas talents")


def test_politeness_is_not_meaning(engine: Engine) -> None:
    norm = engine.normaliser.normalise("Bonjour madame, merci d'avance, cordialement")
    assert norm.content == ()
    assert "bonjour" in norm.politeness


def test_numbers_and_postcodes_are_kept(engine: Engine) -> None:
    words = engine.normaliser.words("J'habite au 94400, appelez le 3020")
    assert "94400" in words and "3020" in words


def test_elisions_and_apostrophes(engine: Engine) -> None:
    assert engine.normaliser.words("l’école") == engine.normaliser.words("l'ecole")
    assert "ecole" in engine.normaliser.words("d'école")


def test_huge_input_is_cut_not_refused(engine: Engine) -> None:
    norm = engine.normaliser.normalise("stage " * 5000)
    assert 0 < len(norm.words) <= 2000


def test_markup_is_just_text(engine: Engine) -> None:
    assert engine.normaliser.words("<b>stage</b> & cio") == ("b", "stage", "b", "cio")


def test_chinese_and_arabic_sentences_are_read_apart_for_distress() -> None:
    """Chinese ends a sentence with 。 and no space, Arabic asks with ؟: a story written so is
    read sentence by sentence, as a French one is, so the one that says the danger stands alone."""
    chinese = "孩子在维特里读 3e。他说不想再醒来了。CIO 要钱吗？"
    assert safety_parts(chinese) == ["孩子在维特里读 3e。", "他说不想再醒来了。", "CIO 要钱吗？"]
    arabic = "ابني في 3e. هل المركز مجاني؟ يقول إنه متعب من الحياة"
    assert safety_parts(arabic) == ["ابني في 3e.", "هل المركز مجاني؟", "يقول إنه متعب من الحياة"]
    assert safety_parts("好的。谢谢！") == ["好的。", "谢谢！"]  # two ideographs are two words
    assert safety_parts("你好。") == []  # one sentence: the whole message is that reading
