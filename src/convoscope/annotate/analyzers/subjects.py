"""`subject`: a short topic of the question, at most 8 words.

The question's first sentence with its opening formula removed ("How do I", "Is there a
way to", "Wie kann ich", "Comment", "¿Cómo puedo", "にはどうすればいいですか"), plus leading
pronouns and articles. A longer remainder keeps only its content words, in order, up to 8.
Japanese (no spaces) is cut to 24 characters.
"""

from __future__ import annotations

import re

from convoscope.annotate.analyzers.prose import cjk_share, stopwords, strip_code

MAX_WORDS = 8
MAX_CJK_CHARS = 24

_LEAD_INS = re.compile(
    r"^(?:"
    r"(?:hi|hey|hello|ok(?:ay)?|so|um+|quick question)[,!.:]*\s+|"
    r"how (?:do|can|should|would|could|to) (?:i|we|you|one)?\s*|how to\s+|"
    r"is (?:there|it) (?:a|any)? ?(?:way|possible) (?:to\s+)?|is it possible to\s+|"
    r"(?:can|could|may|should) (?:i|we|you)\s+|"
    r"what(?:'s| is| are| does)(?: the| a| an)?\s+|where (?:do|can) (?:i|we) (?:find\s+|see\s+)?|"
    r"why (?:is|does|do|am|are|did|was|were)\s+|when (?:do|does|is|are)\s+|"
    r"(?:does|do|is|are) (?:you|there|it)?\s*(?:have|offer|support)?\s*(?:an?\s+)?|"
    r"please\s+|i (?:want|need|would like) to\s+|"
    r"wie (?:kann|richte|füge|stelle|verbinde|blockiere|lege) (?:ich|man)\s+|kann (?:ich|man)\s+|"
    r"gibt es\s+|warum\s+|was (?:ist|kostet|sind)\s+|wo finde ich\s+|"
    r"comment (?:puis-je\s+|faire pour\s+)?|est-ce qu(?:'on|e je) peu[tx]\s+|"
    r"quel(?:le)?s? (?:est|sont)\s+|qu'est-ce que\s+|pourquoi\s+|"
    r"¿?\s*(?:cómo (?:puedo|hago|despliego|configuro|defino|pongo|busco|conecto|vuelvo)?|puedo|hay|"
    r"qué (?:pasa si|significa)?|cuál es|se puede|tienen|podrían)\s*|"
    r"como (?:eu |faço (?:para )?|posso |uso |configuro |importo |aceitar )?|dá para\s+|"
    r"tem como\s+|existe\s+|qual (?:a |o )?|quanto\s+"
    r")",
    re.IGNORECASE,
)
_JAPANESE_ENDINGS = re.compile(
    r"(?:に(?:は)?どうすれば(?:いい|よい)ですか|方法を教えてください|を教えてください|"
    r"について教えてください|できますか|ありますか|ですか|ますか|ください)[？?。！!]*$"
)
_SENTENCE = re.compile(r"(?<=[.!?？。!])\s+")


def summarize_question(question: str) -> str:
    """Return the subject of a question."""
    prose = strip_code(question)
    if not prose:
        return ""
    sentences = [s for s in _SENTENCE.split(prose) if s.strip()]
    asking = next((s for s in sentences if "?" in s or "？" in s), sentences[0])
    if cjk_share(asking) > 0.3:
        text = _JAPANESE_ENDINGS.sub("", asking.strip()).rstrip("？?。！!、 ")
        return text[:MAX_CJK_CHARS]
    text = asking.strip().lstrip("¿¡ ")
    for _ in range(3):
        stripped = _LEAD_INS.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    words = re.sub(r"[?!.,;:]+$", "", text.strip()).split()
    stop = stopwords()
    while words and words[0].lower() in {
        "my",
        "our",
        "the",
        "a",
        "an",
        "your",
        "to",
        "i",
        "we",
        "le",
        "la",
        "les",
        "un",
        "une",
        "el",
        "los",
        "o",
        "os",
        "der",
        "die",
        "das",
        "ein",
        "eine",
        "meine",
        "mein",
    }:
        words.pop(0)
    if len(words) > MAX_WORDS:
        words = [w for w in words if w.lower().strip(",.") not in stop][:MAX_WORDS]
    subject = " ".join(words).strip(" ,.;:")
    return subject[:1].upper() + subject[1:] if subject else prose[:60]
