"""Every fixed sentence the bot says, in French, in one place (the FAQ holds the rest)."""

WELCOME = (
    "Bonjour ! Je suis Orientation 94, un assistant automatique (pas une personne) qui répond "
    "aux questions des familles et des élèves du Val-de-Marne sur l'orientation : stage de 3e "
    "ou de seconde, CIO, Jump In Tech, classe Alpha, Prépas Talents, Cordées de la réussite…\n\n"
    "Écrivez votre question avec vos mots, ou choisissez un thème. Pour trouver le CIO le plus "
    "proche, écrivez « CIO » et votre ville."
)
PRIVACY_LINE = (
    "Je ne garde ni votre nom ni votre numéro. Détails : /confidentialite"
)
HELP = (
    "Comment m'utiliser :\n"
    "- Posez votre question avec vos mots, même avec des fautes : « c koi un cio », "
    "« mon fils ne trouve pas de stage de 3e ».\n"
    "- Touchez un bouton pour voir la réponse ou une question liée.\n"
    "- « CIO » et votre ville (ou votre code postal) : le CIO le plus proche, avec son "
    "adresse et son téléphone."
)
# /aide adds the menu's commands under this line (see bot.telegram.handlers.help_text).
HELP_COMMANDS = "Commandes :"
CONSOLE_COMMANDS = (
    "Dans ce terminal : /themes (les thèmes), /cio (le CIO le plus proche), un numéro pour "
    "choisir dans la dernière liste, « quitter » pour sortir."
)
HELP_DANGER = (
    "En cas de danger, appelez le 17 ou le 112. Harcèlement : 3018. Enfance en danger : 119. "
    "Idées suicidaires : 3114."
)
THEMES_INTRO = "Choisissez un thème :"
THEME_INTRO = "{title} : choisissez une question."
EMPTY_MESSAGE = (
    "Je n'ai pas trouvé de texte dans votre message. Écrivez votre question en quelques mots, "
    "par exemple : « Comment trouver un stage de 3e ? »"
)
NOT_TEXT = (
    "Je ne sais lire que le texte écrit (pas les images, les autocollants, les messages "
    "vocaux ni les fichiers). Écrivez votre question en quelques mots, ou tapez /themes."
)
SUGGEST = "Je ne suis pas sûr d'avoir bien compris. Vouliez-vous dire :"
# Ends every "I don't know": a message of distress the bot did not recognise still reaches help.
HELPLINES_LINE = (
    "En danger ou en détresse ? 119 (enfant en danger), 3114 (idées suicidaires), "
    "3018 (harcèlement), 17 ou 112 (urgence) : appels gratuits."
)
FALLBACK = (
    "Je ne sais pas répondre à cette question, et je préfère ne pas vous répondre au hasard.\n\n"
    "- Reformulez en quelques mots, ou tapez /themes pour voir ce que je connais.\n"
    "- Un conseiller du CIO peut vous aider gratuitement : écrivez « CIO » et votre ville "
    "pour avoir le plus proche.\n\n"
    + HELPLINES_LINE
)
NUMBER_WITHOUT_CHOICES = (
    "Je n'ai pas de liste en cours : un numéro seul ne me dit rien. Écrivez votre question en "
    "quelques mots, ou tapez /themes."
)
NUMBER_OUT_OF_RANGE = "Choisissez un numéro entre 1 et {last} dans la liste ci-dessus, ou écrivez votre question."
ASK_LOCATION = (
    "Dans quelle commune habitez-vous ? Écrivez son nom ou son code postal (par exemple "
    "« Vitry » ou « 94400 »), ou partagez votre position avec le bouton ci-dessous."
)
ASK_LOCATION_CONSOLE = (
    "Dans quelle commune habitez-vous ? Écrivez son nom ou son code postal (par exemple "
    "« Vitry » ou « 94400 »)."
)
PLACE_NOT_READ = (
    "Je n'ai pas reconnu de commune du Val-de-Marne dans votre message. Écrivez seulement le nom "
    "de la commune ou son code postal (par exemple « Vitry » ou « 94400 »). Si vous habitez hors "
    "du 94 : les CIO de toute la France sont dans l'annuaire de service-public.fr."
)
SHARE_LOCATION_BUTTON = "📍 Partager ma position"
OUTSIDE_94 = (
    "Je ne connais que les services du Val-de-Marne (94), et {place} n'en fait pas partie.\n\n"
    "- Tous les CIO de France sont dans l'annuaire de l'administration (service-public.fr).\n"
    "- Mon orientation en ligne (Onisep) répond aux questions d'orientation par tchat ou mail, "
    "où que vous soyez."
)
NEAREST_TITLE = "Les {kinds} les plus proches de {place} :"
APPROXIMATE_NOTE = (
    "Distances à vol d'oiseau, approximatives : calculées entre les mairies des communes, "
    "pas jusqu'à la porte."
)
OLD_DATA_NOTE = (
    "Adresses et téléphones de {year} (annuaire officiel) : appelez avant de vous déplacer."
)
ATTACHED_NOTE = "rattaché au {parent}"
LOCAL_TITLE = "Près de chez vous ({place}) :"
LOCAL_NONE = (
    "Je ne connais pas de lieu de ce programme à {place}. Ceux que je connais, du plus proche "
    "au plus loin :"
)
SAFETY_ALSO = "Vous parliez aussi d'autre chose : touchez le bouton ci-dessous quand vous voulez."
FEEDBACK_THANKS_UP = "Merci ! Content que cette réponse vous aide."
FEEDBACK_THANKS_DOWN = (
    "Merci de nous le dire : l'équipe relira cette réponse. Un conseiller du CIO peut aussi "
    "vous aider (écrivez « CIO » et votre ville)."
)
STALE_BUTTON = "Ce bouton n'est plus valable. Posez votre question ou tapez /themes."
FLOOD = "Vous envoyez beaucoup de messages d'un coup : je réponds aux suivants dans un instant."
ERROR = "Désolé, quelque chose s'est mal passé de mon côté. Réessayez dans un instant."
UNKNOWN_COMMAND = "Je ne connais pas cette commande. Tapez /aide pour voir ce que je sais faire."
PRIVACY = (
    "Ce que je garde, et pourquoi :\n"
    "- Le texte des questions auxquelles je n'ai pas su répondre avec certitude, sans votre nom "
    "ni votre identifiant, avec les numéros de téléphone, adresses e-mail et longues suites de "
    "chiffres masqués : l'équipe s'en sert pour améliorer les réponses.\n"
    "- Pour les autres questions : seulement la réponse donnée et la date (statistiques).\n"
    "- Les 👍 et 👎 donnés aux réponses, sans savoir qui les a donnés.\n"
    "- Votre commune, si vous me la donnez en privé pour trouver un CIO, liée à un code secret "
    "calculé à partir de votre compte (pas votre identifiant lui-même) : pour ne pas vous la "
    "redemander à /cio.\n\n"
    "Tout est effacé automatiquement au bout de {days} jours. Tapez /oubli pour effacer tout "
    "de suite ce qui est lié à vous.\n"
    "Telegram, lui, transmet vos messages : voir sa propre politique de confidentialité."
)
FORGOTTEN = "C'est fait : j'ai effacé tout ce qui était lié à vous ({count} élément(s))."

# --- Telegram adapter -------------------------------------------------------------------------
LOCATION_PLACEHOLDER = "Ville ou code postal"
SEE_ALSO = "Voir aussi :"
# Shown in Telegram's command menu (set_my_commands); the maintainer commands stay hidden.
# The descriptions of the public commands, in the Telegram menu and in /aide. The commands
# themselves are the table `COMMANDS` of bot/telegram/handlers.py (a test keeps both alike).
COMMANDS = {
    "start": "Commencer",
    "aide": "Comment m'utiliser",
    "themes": "La liste des thèmes",
    "cio": "Le CIO le plus proche",
    "confidentialite": "Ce que je garde et comment l'effacer",
    "oubli": "Effacer ce que je sais de vous",
    "langue": "Choisir la langue des réponses (English, العربية, Português, Español, Türkçe, 中文)",
}

# --- Maintainer commands (/stats, /recharger) ------------------------------------------------
STATS_HEADER = "Questions : {day} sur les dernières 24 h, {week} sur 7 jours."
STATS_BY_STATUS = "Répartition sur 7 jours :"
STATUS_LABELS = {
    "answer": "réponse",
    "service": "lieux proches",
    "ask_location": "commune demandée",
    "suggest": "suggestions",
    "fallback": "sans réponse",
}
STATS_DECLINED = "Questions sans réponse les plus fréquentes :"
STATS_FEEDBACK = "Réponses les plus souvent jugées 👎 :"
STATS_NONE = "(aucune)"
RELOAD_DONE = (
    "Base rechargée : {entries} entrées dans {topics} thèmes, {services} lieux, "
    "{communes} communes ({warnings} avertissement(s))."
)
RELOAD_FAILED = (
    "Base NON rechargée : {errors} erreur(s). Je continue avec la version précédente. "
    "Corrigez puis relancez /recharger."
)
MORE_PROBLEMS = "… et {count} autre(s) (python run_bot.py check)."
# Languages other than French (see knowledge/i18n/ and bot/understanding/languages.py).
TRANSLATED_NOTE = "Réponse traduite : la version en français fait foi."
SHOW_FRENCH_BUTTON = "Voir en français"
NOT_TRANSLATED = "Cette réponse n'existe qu'en français pour l'instant."
LANGUAGE_PROMPT = "Dans quelle langue voulez-vous que je réponde ?"
LANGUAGE_CHOSEN = "Je vous réponds maintenant en français."
