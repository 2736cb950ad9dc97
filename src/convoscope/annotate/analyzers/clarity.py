"""`isClear`: whether the question can be understood as asked.

False when the assistant had to ask what was meant ("Could you share more details?"), when
the question is only a greeting, or when it has no content word at all ("error", "page?",
"it doesn't work"). Gratitude ("thanks, that fixed it!") is clear.
"""

from __future__ import annotations

from convoscope.annotate.analyzers.lexicon import PhraseSet

# fmt: off
CLARIFICATION = PhraseSet(
    [
        "could you (?:share|tell|describe|clarify|provide|give|explain)",
        "can you (?:share|tell|describe|clarify|provide|paste|give|explain)", "what do you mean",
        "more details", "a bit more", "which (?:feature|page|product|api call)",
        "please (?:share|provide|describe)", "what did you expect",
        "könntest du (?:\\w+ )?(?:beschreiben|teilen|sagen)",
        "kannst du (?:\\w+ )?(?:beschreiben|teilen)",
        "pourriez-vous (?:préciser|partager|décrire)", "partagez le message",
        "podrías (?:compartir|describir|indicar)", "poderia (?:compartilhar|descrever)",
        "詳しく教えて",
    ]
)
# fmt: on
# fmt: off
GREETING = PhraseSet(
    [
        "hi", "hello", "hey", "hey there", "good (?:morning|afternoon|evening)", "hallo",
        "bonjour", "salut", "hola", "olá", "oi", "こんにちは",
    ]
)
# fmt: on
# fmt: off
GRATITUDE = PhraseSet(
    [
        "thanks?", "thank you", "thx", "cheers", "worked", "fixed", "perfect", "great", "awesome",
        "love", "danke", "merci", "gracias", "obrigad[oa]", "valeu", "ありがと", "助かりました",
    ]
)
# fmt: on
VAGUE_WORDS = frozenset(
    "it this that thing things stuff something help error problem issue broken again work works "
    "working doesn't don't not page question".split()
)
GREETING_MAX_WORDS = 3


def is_question_clear(
    question_words: list[str], content_terms: list[str], answer: str, *, is_cjk: bool
) -> bool:
    if CLARIFICATION.search(answer):
        return False
    text = " ".join(question_words)
    if (
        len(question_words) <= GREETING_MAX_WORDS
        and GREETING.search(text)
        and not GRATITUDE.search(text)
    ):
        return False
    if GRATITUDE.search(text):
        return True
    if is_cjk:
        return True
    return any(term not in VAGUE_WORDS for term in content_terms)
