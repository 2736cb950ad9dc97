"""`emotion`: the dominant emotion of the user's question.

Values: `neutral`, `frustrated`, `confused`, `satisfied`, `urgent`. A small domain lexicon
per emotion (English, German, French, Spanish, Portuguese, Japanese), checked in the order
urgent > confused > frustrated > satisfied, and gated by sentiment: frustration needs a
negative and satisfaction a positive question. NRC EmoLex is not used (non-commercial
licence) and general-purpose emotion lexicons miss support phrasing ("still failing").
"""

from __future__ import annotations

from convoscope.annotate.analyzers.lexicon import PhraseSet
from convoscope.annotate.model import Emotion, Sentiment

# fmt: off
URGENT = PhraseSet(
    [
        "asap", "urgent(?:ly)?", "emergency", "right now", "immediately", "production is down",
        "prod(?:uction)? (?:is )?down", "site is down", "need help now", "need to ship",
        "this is production", "launch (?:is )?tomorrow", "critical", "(?:start|starts) monday",
        "panick?ing", "what do we do", "right away", "dringend", "sofort", "notfall", "urgence",
        "c'est urgent", "urgente(?:mente)?", "至急", "緊急", "落ちています",
    ]
)
# fmt: on
# fmt: off
CONFUSED = PhraseSet(
    [
        "confus\\w*", "(?:don't|do not) understand", "makes no sense", "what is going on",
        "what's going on", "i'm lost", "where does (?:it|this) come from", "what happened",
        "\\?\\?+", "verstehe? (?:\\w+ )*nicht", "ich verstehe", "je ne comprends pas",
        "comprends pas", "no entiendo", "não entendo", "わかりません", "分かりません",
    ]
)
# fmt: on
# fmt: off
FRUSTRATED = PhraseSet(
    [
        "useless", "nightmare", "unacceptable", "ridiculous", "terrible", "awful", "frustrat\\w*",
        "annoy\\w*", "driving me nuts", "waste of time", "again", "still", "keeps", "three times",
        "third time", "every time", "for (?:hours|days|a week)", "(?:two|three|\\d+) hours",
        "(?:two|three|\\d+) days", "for an hour", "hasn't moved", "really bad",
        "where is my money", "nobody", "no explanation", "considering (?:moving|switching)",
        "lost a whole", "fed up", "not happy", "sick of", "forever", "seriously",
        "every other day", "nervt", "ständig", "énervant", "desesperante", "que chato", "de novo",
        "can't use", "killing", "painful", "badly", "this is driving", "ärgerlich", "nervig",
        "geduld", "endlich", "total", "agaçant", "pénible", "n'importe quoi", "vraiment",
        "inaceptable", "desesperación", "ya no sé", "nadie", "absurdo", "quero meu dinheiro",
        "困っています", "のに", "!!+",
    ]
)
# fmt: on
# fmt: off
SATISFIED = PhraseSet(
    [
        "thanks?", "thank you", "thx", "cheers", "that (?:fixed|worked)", "fixed it", "worked",
        "perfect", "saved my day", "super helpful", "great work", "love the", "appreciate\\w*",
        "brilliant", "obliged", "sorted", "brigad[oa]", "funcionou", "danke", "dank", "merci",
        "gracias", "obrigad[oa]", "valeu", "deu certo", "resolveu", "me salvaste", "me sirvió",
        "ありがと", "助かりました", "解決しました",
    ]
)
# fmt: on


def classify_emotion(prose: str, sentiment: Sentiment) -> Emotion:
    if URGENT.search(prose):
        return "urgent"
    if sentiment == "negative" and CONFUSED.search(prose):
        return "confused"
    if sentiment == "negative" and FRUSTRATED.search(prose):
        return "frustrated"
    if sentiment == "positive" and SATISFIED.search(prose):
        return "satisfied"
    return "neutral"
