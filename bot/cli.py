"""Command line: run the bot, chat in the terminal, ask, check and evaluate the knowledge."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bot.settings import Settings, SettingsError
from bot.understanding.engine import Engine, Reply

TELEGRAM_NOTE = (
    "(Mode terminal : aucun TELEGRAM_BOT_TOKEN n'est défini. Pour brancher Telegram, "
    "voir « Lancer sur Telegram » dans README.md.)"
)


def reply_json(question: str, reply: Reply) -> dict:
    return {
        "question": question,
        "status": reply.status,
        "id": reply.entry.id if reply.entry else None,
        "topic": reply.topic,
        "score": reply.score,
        "text": reply.text,
        "suggestions": [
            {"id": e.id, "topic": e.topic, "question": e.title} for e in reply.suggestions
        ],
        "services": [
            {
                "id": s.service.id,
                "name": s.service.name,
                "kind": s.service.kind,
                "commune": s.commune.name,
                "distance_km": round(s.distance_km, 2),
                "approximate": s.service.approximate_position,
                "address": s.service.address,
                "phone": s.service.phone,
            }
            for s in reply.services
        ],
        "decided_by": reply.decided_by,
        "lang": reply.lang,
    }


def _knowledge_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--knowledge", type=Path, help="dossier de connaissances (défaut : knowledge/)")


def _engine(knowledge: Path | None, quiet: bool = False) -> Engine:
    settings = Settings.from_env()
    root = knowledge or settings.knowledge_dir
    engine, problems = Engine.load(root, settings.cache_dir)
    errors = [p for p in problems if p.is_error]
    if errors and not quiet:
        # The bot still answers with what loaded: a maintainer's typo must not take it down.
        print(f"{len(errors)} erreur(s) dans {root} : lancez « python run_bot.py check ».",
              file=sys.stderr)
    return engine


def cmd_check(args: argparse.Namespace) -> int:
    from bot.knowledge.loader import load_knowledge
    from bot.understanding.languages import Catalog
    from bot.understanding.policy import ContrastBanks, load_policy
    from bot.understanding.projection import load_projection
    from bot.understanding.signals import ENTRY_FEATURES, SAFETY_FEATURES, TOPIC_FEATURES

    root = args.knowledge or Settings.from_env().knowledge_dir
    kb, problems = load_knowledge(root)
    projection, projection_problems = load_projection(root)
    if not any(p.is_error for p in problems):  # a policy is only judged against a sound base
        axes = projection.suffix if projection else ""
        problems += load_policy(root, kb, ENTRY_FEATURES, SAFETY_FEATURES, TOPIC_FEATURES, axes=axes)[1]
    problems += Catalog.load(root)[1] + ContrastBanks.problems(root) + projection_problems
    for problem in problems:
        print(problem)
    errors = sum(p.is_error for p in problems)
    warnings = len(problems) - errors
    if errors:
        print(f"{errors} erreur(s), {warnings} avertissement(s).")
        return 1
    print(
        f"OK : {len(kb.entries)} entrées dans {len(kb.topics)} thèmes, {len(kb.services)} lieux, "
        f"{len(kb.communes)} communes ({warnings} avertissement(s))."
    )
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    engine = _engine(args.knowledge)
    questions = [" ".join(args.question)] if args.question else (line.rstrip("\n") for line in sys.stdin)
    for question in questions:
        reply = engine.respond(question)
        if args.json:
            print(json.dumps(reply_json(question, reply), ensure_ascii=False), flush=True)
        else:
            from bot.maintainers.console import render

            print(render(reply) + "\n", flush=True)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.knowledge.questions import load_questions
    from bot.knowledge.yaml_source import YamlError
    from bot.maintainers.evaluation import evaluate, format_scores

    engine = _engine(args.knowledge)
    root = args.knowledge or Settings.from_env().knowledge_dir
    path = args.questions or root / "eval.yaml"
    try:
        questions = load_questions(path)
    except (OSError, KeyError, TypeError, ValueError, YamlError) as exc:
        print(f"Jeu de questions illisible ({path}) : {exc}. Chaque élément a un texte « q » "
              "et un « expect » (voir knowledge/README.md).", file=sys.stderr)
        return 2
    scores = evaluate(engine, questions)
    print(format_scores(scores, str(path)))
    return 0 if scores.passes() else 1


def cmd_fit(args: argparse.Namespace) -> int:
    from bot.maintainers.fit import FIT_SETS, fit_encoder, run_fit, ship_learnt
    from bot.understanding.semantic import SHIPPED_FILE, EmbeddingCache

    settings = Settings.from_env()
    root = args.knowledge or settings.knowledge_dir
    try:
        def progress(line: str) -> None:
            print(line, flush=True)

        encoder = fit_encoder(root, settings.cache_dir, progress=progress)
        policy = run_fit(root, EmbeddingCache(encoder, settings.cache_dir, root / SHIPPED_FILE), progress=progress)
        shipped = ship_learnt(root, settings.cache_dir)
    except ValueError as exc:
        print(f"Calibrage impossible : {exc}", file=sys.stderr)
        return 1
    bars = policy.bars
    f = policy.figures
    print(
        f"Politique écrite dans {root / 'policy.yaml'} ({f['messages']} messages lus).\n"
        f"  seuils : réponse {bars.answer:.3f}, thème {bars.theme:.3f}, suggestion {bars.suggest:.3f} "
        f"(questions d'un thème {bars.theme_suggest:.3f}), "
        f"numéros d'aide {bars.safety:.3f} ({bars.part_bar():.3f} pour une phrase lue seule, "
        f"{bars.helpline_bar(True):.3f} avec une phrase d'alerte ; "
        f"ligne des numéros {bars.safety_line:.3f})\n"
        f"  sur la FAQ et les jeux (prédits par des modèles appris sans eux) : bonne réponse "
        f"{f['top1_pct']} %, réponses fausses {f['answered_wrong_pct']} %\n"
        f"  sur les {f.get('written_messages', 0)} messages des jeux de questions ({FIT_SETS}) : "
        f"bonne réponse ou bon thème {f.get('written_reached_pct', '-')} %, réponses sûres mais fausses "
        f"{f.get('written_confident_wrong_pct', '-')} %, bien déclinés {f.get('written_declined_pct', '-')} %\n"
        f"  messages à décliner bien déclinés : {f['declined_pct']} %\n"
        f"  numéros d'aide : {f['helplines_pct']} % des messages de détresse ; fausses alertes "
        f"{f['false_alarms_ordinary_pct']} % (messages ordinaires), {f['false_alarms_faq_pct']} % (FAQ) ; "
        f"numéros au moins en fin de réponse : {f['numbers_shown_pct']} %\n"
        f"  dans une autre langue : numéros d'aide {f.get('foreign_helplines_pct', '-')} % des "
        f"{f.get('foreign_distress', '-')} messages de détresse ; fausses alertes "
        f"{f.get('foreign_false_alarms_pct', '-')} %\n"
        f"Vecteurs de {shipped} textes écrits dans {root / SHIPPED_FILE}, et ce que le bot apprend de la "
        "détresse : un premier démarrage ne les calcule pas.\n"
        "Mesurez ensuite : python run_bot.py eval"
    )
    return 0


def cmd_chat(args: argparse.Namespace, note: str | None = None) -> int:
    from bot.maintainers.console import run_console

    return run_console(lambda: _engine(getattr(args, "knowledge", None)), note=note)


def cmd_run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if not settings.token:
        return cmd_chat(args, note=TELEGRAM_NOTE)
    if settings.webhook_url and not settings.webhook_secret:
        # Without it, anyone who finds the URL could post updates (and claim an admin's id).
        print("BOT_WEBHOOK_SECRET est obligatoire en mode webhook (voir README.md).", file=sys.stderr)
        return 2
    from bot.telegram.app import run_telegram

    run_telegram(settings)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from bot.maintainers.report import build_report
    from bot.storage.store import DB_FILE

    settings = Settings.from_env()
    if not (settings.data_dir / DB_FILE).exists():
        print(f"Aucune base dans {settings.data_dir} (BOT_DATA_DIR) : le bot n'a encore rien enregistré.",
              file=sys.stderr)
        return 1
    engine = _engine(args.knowledge, quiet=True)
    print(build_report(settings.data_dir, engine, args.format, settings.retention_days))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_bot.py",
        description="Bot d'orientation du Val-de-Marne. Sans sous-commande : le bot Telegram "
        "(ou la conversation dans le terminal si TELEGRAM_BOT_TOKEN n'est pas défini).",
    )
    sub = parser.add_subparsers(dest="command")
    chat = sub.add_parser("chat", help="la conversation dans le terminal")
    _knowledge_arg(chat)
    ask = sub.add_parser("ask", help="répondre à une question (ou à chaque ligne de l'entrée)")
    ask.add_argument("--json", action="store_true", help="une ligne JSON par question")
    _knowledge_arg(ask)
    ask.add_argument("question", nargs="*")
    check = sub.add_parser("check", help="vérifier les fichiers de connaissances")
    _knowledge_arg(check)
    evaluate = sub.add_parser("eval", help="mesurer le bot sur le jeu de questions")
    _knowledge_arg(evaluate)
    evaluate.add_argument("--questions", type=Path, help="autre jeu de questions (YAML)")
    fit = sub.add_parser("fit", help="recalculer la politique de décision (knowledge/policy.yaml)")
    _knowledge_arg(fit)
    report = sub.add_parser("report", help="questions sans réponse et avis, pour l'équipe")
    report.add_argument("--format", choices=("md", "csv"), default="md")
    _knowledge_arg(report)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)
    # httpx logs every request URL, and Telegram's URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    handlers = {
        None: cmd_run, "chat": cmd_chat, "ask": cmd_ask, "check": cmd_check,
        "eval": cmd_eval, "report": cmd_report, "fit": cmd_fit,
    }
    try:
        return handlers[args.command](args)
    except SettingsError as exc:
        print(f"Réglage invalide : {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0

