"""`questionType`: how_to, troubleshooting, conceptual, feature_request or other.

- how_to: asks for the steps to do something ("How do I rotate a key?").
- troubleshooting: reports a failure or an error, or asks why something misbehaves.
- conceptual: asks what something is, how it works, whether it exists or is supported,
  limits, prices, differences.
- feature_request: asks for a capability to be added, or about plans to add it.
- other: not a product question: thanks, greetings, chit-chat, off-topic requests.

Regex rules decide first, in the order other > feature_request > troubleshooting >
conceptual ("what does X mean") > how_to > conceptual; when no rule fires, the question
goes to the type whose prototype questions are nearest in MiniLM space.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from convoscope.annotate.analyzers.lexicon import PhraseSet
from convoscope.annotate.analyzers.sentiment import NEGATED_STATEMENT
from convoscope.annotate.model import QUESTION_TYPES, QuestionType

# fmt: off
GRATITUDE_OR_GREETING = PhraseSet(
    [
        "thanks?(?: you)?(?: so much)?", "thx", "cheers", "hi", "hello", "hey(?: there)?",
        "good (?:morning|afternoon|evening)", "(?:that|it) (?:fixed it|worked)", "ok(?:ay)?",
        "perfect", "great", "awesome", "love the", "great work", "saved my day", "worked",
        "appreciate\\w*", "brilliant", "(?:much )?obliged", "(?:all )?sorted", "brigad[oa]",
        "funcionou", "danke", "vielen dank", "super", "merci", "gracias", "obrigad[oa]", "valeu",
        "deu certo", "resolveu", "me sirvió", "me salvaste", "ありがと", "助かりました",
        "解決しました", "どういたしまして",
    ]
)
# fmt: on
# fmt: off
OFF_TOPIC = PhraseSet(
    [
        "poem", "joke", "recipe", "weather", "world cup", "capital of", "song", "story about",
        "translate (?:this|my|the)", "horoscope", "who won", "movie", "write me", "homework",
        "Gedicht", "Witz", "Rezept", "Wetter", "poème", "blague", "recette", "météo", "poema",
        "chiste", "receta", "clima", "piada", "receita", "tempo amanhã", "天気", "冗談", "レシピ",
    ]
)
# fmt: on
# fmt: off
FEATURE_REQUEST = PhraseSet(
    [
        "please (?:add|support|offer|let|provide|build|make|consider|bring)",
        "(?:would|it'd|it would) (?:be )?(?:great|nice|awesome|amazing|cool|lovely|helpful)",
        "(?:be|are) (?:great|nice|awesome|amazing|cool) (?:if|to have)", "would love", "any plans",
        "(?:is|are) (?:there )?(?:any )?plans?", "on the roadmap", "roadmap", "do you plan",
        "planning to (?:add|support)", "will you (?:add|support|offer)", "feature request",
        "any eta", "eta\\b", "we (?:really )?need \\w+ (?:as|in|for)", "could you (?:please )?add",
        "can you (?:please )?add", "wish (?:you|there)",
        "bitte (?:baut|bietet|fügt|macht|ergänzt|unterstützt)", "könnt ihr (?:bitte )?",
        "wäre (?:toll|schön|super|praktisch|super)", "wünsche", "prévoyez", "prévu de",
        "serait (?:génial|bien|top|super)", "pourriez-vous ajouter",
        "podrían (?:añadir|agregar|soportar)", "sería (?:genial|útil|ideal)", "planean",
        "poderiam (?:adicionar|incluir)", "seria (?:ótimo|muito bom|legal|útil)", "vocês poderiam",
        "planejam", "してほしい", "して欲しい", "予定はありますか", "追加してほしい",
        "ようにしてください", "対応してください",
    ]
)
# fmt: on
# fmt: off
TROUBLESHOOTING = PhraseSet(
    [
        "error", "errors", "exception", "fail(?:s|ed|ing|ure)?", "doesn't work", "does not work",
        "don't work", "not working", "isn't working", "broken", "crash(?:es|ed|ing)?", "stuck",
        "stopped", "keeps?", "still", "again", "can't", "cannot", "unable", "won't",
        "doesn't (?:show|find|load|arrive|appear|match)",
        "not (?:showing|loading|arriving|appearing|found|allowed)", "timeout", "timed out",
        "\\d{3} (?:error|unauthorized|forbidden)", "(?:4|5)\\d\\d", "undefined", "null", "missing",
        "empty", "wrong", "slow",
        "why (?:is|does|do|did|am|are|was|were|isn't|doesn't|can't|won't)",
        "what am i doing wrong", "what is going on", "what's going on", "loops?", "lose[s]?",
        "lost", "disappeared", "cut off", "charged (?:twice|for)", "pending", "greyed out",
        "grayed out", "where is my", "disabled", "denied", "blocked", "removed", "deleted",
        "unable to load", "anymore", "forever", "drops?", "doesn't match", "incorrect", "falsch",
        "fausses?", "errónea", "errad[oa]", "tarda", "caiu", "ständig", "fehler",
        "funktioniert nicht", "klappt nicht", "bricht", "warum (?:ist|wird|wurde|kommt|sind)",
        "noch nicht", "nicht mehr", "findet keine", "erreur", "échoue", "ne fonctionne pas",
        "plante", "bloqué", "grisé", "pourquoi", "n'arrive pas", "impossible de", "perd(?:s|ent)?",
        "falla", "pierde(?:n)?", "no (?:carga|aparece)", "no funciona", "me sale", "me cobraron",
        "llevo", "sin recibir", "sin certificado", "erro", "falha", "perde(?:m)?",
        "não (?:carrega|aparece)", "não funciona", "por que", "pendente", "lento", "aparece como",
        "エラー", "失敗", "動かない", "出ません", "なぜ", "ヒットしません", "消えて", "落ちて",
        "出続け", "反映されない", "undefined",
    ]
)
# fmt: on
# Conceptual questions that mention an error without reporting one.
# fmt: off
CONCEPTUAL_FIRST = PhraseSet(
    [
        "what does (?:the )?.{1,60} mean", "what is the difference", "what's the difference",
        "difference between", "qu'est-ce que", "was bedeutet", "qué significa", "o que significa",
        "とは", "違い", "quelle est la différence", "cuál es la diferencia",
        "how (?:many|much|long|often)", "wie (?:lange|viel|viele|oft)", "combien", "cuánto",
        "quanto tempo", "quantos", "どれくらい", "何回", "いくら",
    ]
)
# fmt: on
# fmt: off
HOW_TO = PhraseSet(
    [
        "how (?:do|can|should|would|could) (?:i|we|you|one)", "how to", "is there a way",
        "is it possible to",
        "can (?:i|we) (?!get\\b|use\\b|pay\\b|run\\b|have\\b|choose\\b|bring\\b)\\w+",
        "where (?:do|can) (?:i|we) (?:find|see|get|change|set)", "where do i", "steps? to",
        "best way to", "help me (?:set|configure|create)", "how does one",
        "wie (?:kann|richte|füge|stelle|verbinde|blockiere|lege)",
        "wie (?:ändere|mache|aktiviere|finde)", "wo finde", "kann ich", "wie geht", "comment",
        "est-ce qu'on peut", "cómo",
        "como (?:faço|eu|configuro|importo|uso|restaurar|aceitar|troco|posso|fazer|criar|ativar)",
        "como", "puedo", "dá para", "tem como", "方法", "どうすれば", "にはどうすれば",
        "設定するには", "するには",
    ]
)
# fmt: on
# fmt: off
CONCEPTUAL = PhraseSet(
    [
        "what (?:is|are|'s|does|happens|do)", "what's", "which", "when (?:do|does|is|are|will)",
        "how (?:much|many|long|often|does|is|are)", "is there", "are there",
        "do you (?:have|offer|support|give)",
        "(?:does|do) (?:\\w+ ){1,3}(?:support|integrate|work|have|offer)",
        "(?:is|are) (?:\\w+ ){1,3}supported",
        "can (?!i\\b|we\\b|you\\b)(?:\\w+ ){1,3}(?:access|be|run|use|read|call|handle|support)",
        "can (?:i|we) (?:get|use|pay|run|have|choose|bring)",
        "is (?:it|there|\\w+) (?:possible|available|encrypted|included)", "do (?:i|we) need",
        "was (?:ist|kostet|sind)", "gibt es", "unterstützt", "sind", "welche",
        "funktioniert (?:die|der|das)", "qu'est-ce", "quel(?:le)?s?", "quand", "combien",
        "est-ce que", "qué", "cuál", "cuánto", "hay", "tienen", "se puede", "pueden", "qual",
        "quanto", "existe", "tem", "funciona", "ですか", "ますか", "できますか", "いくら",
        "教えてください", "について",
    ]
)
# fmt: on

# Prototype questions per type for the embedding fallback (English: MiniLM is English-first).
PROTOTYPES: dict[QuestionType, tuple[str, ...]] = {
    "how_to": (
        "How do I configure this setting?",
        "How can I set up the integration?",
        "Steps to create a new project",
        "How to export my data",
        "Where can I change my password?",
        "Can I customize the appearance?",
    ),
    "troubleshooting": (
        "I get an error when I try to deploy",
        "It is not working after the update",
        "Why does my request fail with a 500 error?",
        "The page keeps crashing",
        "My changes are not showing up",
        "Login loops back to the sign-in page",
    ),
    "conceptual": (
        "What is the difference between the two plans?",
        "How does billing work?",
        "Is this feature supported?",
        "What are the limits?",
        "How much does it cost?",
        "When does the data get synced?",
    ),
    "feature_request": (
        "Please add support for this",
        "It would be great to have dark mode",
        "Are there plans to support Windows?",
        "Could you add an export to Excel?",
        "We really need this feature, any ETA?",
        "Would love an integration with our tool",
    ),
    "other": (
        "Thanks, that worked!",
        "Hello",
        "Write me a poem",
        "What's the weather today?",
        "Tell me a joke",
        "Great, thank you so much",
    ),
}

# "thanks, that fixed it!" is gratitude; "Thanks, but it still fails" is not.
MAX_GRATITUDE_WORDS = 8


class QuestionTypeClassifier:
    """Rules first, then the nearest prototype centroid."""

    def __init__(self, prototype_vectors: dict[QuestionType, npt.NDArray[np.float32]]) -> None:
        centroids = []
        for kind in QUESTION_TYPES:
            mean = prototype_vectors[kind].mean(axis=0)
            centroids.append(mean / np.linalg.norm(mean))
        self._centroids = np.stack(centroids).astype(np.float32)

    def by_rules(
        self, prose: str, word_count: int, *, is_declined: bool = False
    ) -> QuestionType | None:
        """The type a rule gives, or None. `is_declined`: the answer declined the request as
        out of scope, which makes the question "other" whatever its form."""
        if is_declined or OFF_TOPIC.search(prose):
            return "other"
        if (
            GRATITUDE_OR_GREETING.search(prose)
            and word_count <= MAX_GRATITUDE_WORDS
            and not TROUBLESHOOTING.search(prose)
            and "?" not in prose
        ):
            return "other"
        if FEATURE_REQUEST.search(prose):
            return "feature_request"
        if CONCEPTUAL_FIRST.search(prose):
            return "conceptual"
        if TROUBLESHOOTING.search(prose):
            return "troubleshooting"
        if HOW_TO.search(prose):
            return "how_to"
        if CONCEPTUAL.search(prose):
            return "conceptual"
        if "?" not in prose and "？" not in prose and NEGATED_STATEMENT.search(prose):
            # "HubSpot deals aren't syncing anymore": a statement that something does not
            # happen is a problem report.
            return "troubleshooting"
        return None

    def by_prototype(self, vector: npt.NDArray[np.float32]) -> QuestionType:
        return QUESTION_TYPES[int(np.argmax(self._centroids @ vector))]
