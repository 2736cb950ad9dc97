"""Whether the answer is grounded: `isAnswerConfident`, `isFeatureSupported`,
`isDocumented` and `gapSummary`.

- isAnswerConfident: false when the answer refuses for lack of knowledge or access ("I
  couldn't find", "I'm not sure", "I can't see your billing details") or hedges twice
  ("I think ... might ..."). Declining an off-topic request is a confident answer.
- isFeatureSupported: false when the answer says the capability does not exist ("not
  supported", "there is no", "isn't available", "I'll pass on the request"), or when a
  feature request is not answered with "already"/"yes". An answer that starts with "Yes"
  keeps it true even if it then names a limit.
- isDocumented: false (a documentation gap) when an on-topic product question got an
  answer that is not confident for lack of knowledge, that says the docs do not cover it,
  that turns down a feature request, or that cites nothing and got a thumbs-down.
  Refusals for lack of access to the user's account are not gaps: no page could answer
  them. Chit-chat and off-topic threads are never gaps.
- gapSummary: when isDocumented is false, the kind of gap and the subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from convoscope.annotate.analyzers.lexicon import PhraseSet
from convoscope.annotate.model import QuestionType

# No knowledge: the answer could not be grounded in the docs.
# fmt: off
UNKNOWN = PhraseSet(
    [
        "i'm not (?:completely |entirely |totally )?sure", "i am not sure",
        "not (?:completely )?certain", "i'm not certain", "i don't know", "i do not know",
        "i couldn't (?:find|confirm)", "i could not (?:find|confirm)",
        "couldn't find (?:it|this|anything)", "i don't think",
        "i don't have (?:any )?(?:information|details) (?:about|on) (?!the roadmap|a timeline)",
        "i have no information", "not in the documentation", "isn't documented", "not documented",
        "no information (?:about|on)", "i'm unable to find", "i can't find", "nicht sicher",
        "konnte (?:dazu )?(?:\\w+ )*nicht finden", "keine angaben", "weiß nicht",
        "je ne suis pas sûr", "pas certain", "je n'ai pas trouvé", "je ne sais pas",
        "no estoy seguro", "no lo sé", "no encontré", "no sé", "não tenho certeza", "não sei",
        "não encontrei", "わかりません", "確かではありません", "見つかりませんでした", "不明です",
    ]
)
# fmt: on
# No access: the answer needs the user's private data, which the assistant cannot see.
# fmt: off
NO_ACCESS = PhraseSet(
    [
        "i (?:can't|cannot|can not) see your", "i don't have access to (?:your|account)",
        "i'm not able to (?:check|see|access)", "i am not able to (?:check|see|access)",
        "i (?:can't|cannot) (?:check|access) your", "i can't tell why",
        "i don't have (?:visibility|access) into your", "habe keinen zugriff",
        "kann (?:\\w+ )?nicht einsehen", "je n'ai pas accès", "no tengo acceso",
        "não tenho acesso", "アクセスできません", "確認できません",
    ]
)
# fmt: on
# fmt: off
WEAK_HEDGE = PhraseSet(
    [
        "i think", "i believe", "might", "possibly", "probably", "perhaps", "maybe", "hmm",
        "it seems", "may be", "not sure", "to confirm",
        "(?:contact|check with) support to confirm", "vielleicht", "möglicherweise",
        "wahrscheinlich", "ich glaube", "peut-être", "je pense", "probablement", "creo que",
        "quizás", "tal vez", "puede que", "probablemente", "acho que", "talvez", "provavelmente",
        "かもしれません", "と思います", "おそらく",
    ]
)
# fmt: on
# Declining an off-topic request ("I can only help with questions about Acme").
# fmt: off
SCOPE_REFUSAL = PhraseSet(
    [
        "i can only (?:help|answer|assist)", "i'm afraid i can only",
        "only (?:help|answer) (?:with )?questions", "outside (?:the scope|what i can help)",
        "i'm here to help with \\w+(?: \\w+)? questions only",
        "i'm the .{1,40} assistant, so i can only", "questions related to", "ich kann nur",
        "je ne peux répondre qu", "solo puedo", "só posso",
    ]
)
# fmt: on
# fmt: off
UNSUPPORTED = PhraseSet(
    [
        "(?:is|are|isn't|aren't) not (?:currently |yet )?supported", "(?:isn't|aren't) supported",
        "not (?:currently |yet )?supported", "(?:is|are) not (?:currently |yet )?available",
        "(?:isn't|aren't) (?:currently |yet )?available",
        "not available (?:today|yet|at the moment|right now)", "there (?:is|are) no(?! need)\\b",
        "there's no(?! need)\\b", "doesn't (?:support|offer|run)",
        "does not (?:support|offer|run)", "don't (?:support|offer)", "not possible",
        "isn't possible", "no official", "(?:is|are) rest only",
        "not (?:on|in) (?:our|the) roadmap",
        "(?:noted|pass(?:ed)?|shared?|logged|recorded) (?:this|it|your request|the request)",
        "i'll pass (?:it|this|the request|your request)", "i'll (?:share|note) (?:your|the|this)",
        "feature request", "wird (?:\\w+ )?nicht unterstützt", "nicht (?:\\w+ )?unterstützt",
        "gibt es (?:derzeit |aktuell |noch )?(?:nicht|kein)",
        "ist (?:aktuell |derzeit )?nicht verfügbar", "nicht möglich", "gebe den wunsch",
        "(?:n'est|ne sont) pas (?:encore )?pris en charge", "pas (?:encore )?disponible",
        "pas possible", "no (?:es|está|están) (?:compatible|disponible|soportad[oa]s?)",
        "no (?:existe|hay)\\b", "no es posible", "no está soportado",
        "não (?:é|são|está|estão) (?:suportad[oa]s?|disponíve(?:l|is))", "não é possível",
        "vou registrar", "サポートされていません", "対応していません", "できません",
        "ご要望はお伝え", "ご要望はチーム",
    ]
)
# fmt: on
# fmt: off
ALREADY = PhraseSet(
    [
        "already", "bereits", "schon", "déjà", "ya (?:existe|está|es posible)", "já", "すでに",
        "既に",
    ]
)
# fmt: on
# "Yes, ... but X is not supported" still grants the asked-for capability.
AFFIRMATIVE_START = re.compile(r"^\W*(?:yes|yep|sure|of course|ja|oui|sí|si|sim|はい)(?!\w)", re.I)
# answers shorter than this that decline access carry no other guidance
SUBSTANTIVE_ANSWER_WORDS = 40
WEAK_HEDGES_FOR_UNCONFIDENT = 2


@dataclass(frozen=True)
class Grounding:
    is_answer_confident: bool
    is_feature_supported: bool
    is_documented: bool
    gap_kind: str | None


def assess_grounding(
    answer: str,
    answer_word_count: int,
    question_type: QuestionType,
    *,
    is_on_topic: bool,
    cites_sources: bool,
    has_negative_feedback: bool = False,
) -> Grounding:
    is_scope_refusal = SCOPE_REFUSAL.search(answer)
    lacks_knowledge = (
        UNKNOWN.search(answer) or WEAK_HEDGE.count(answer) >= WEAK_HEDGES_FOR_UNCONFIDENT
    )
    lacks_access = NO_ACCESS.search(answer) and answer_word_count < SUBSTANTIVE_ANSWER_WORDS
    is_confident = bool(is_scope_refusal) or not (lacks_knowledge or lacks_access)

    is_affirmative = AFFIRMATIVE_START.match(answer) is not None
    says_unsupported = UNSUPPORTED.search(answer) and not is_affirmative
    if question_type == "feature_request":
        is_supported = bool(ALREADY.search(answer) or is_affirmative) and not says_unsupported
    else:
        is_supported = not says_unsupported

    gap_kind: str | None = None
    if is_on_topic and question_type != "other" and not is_scope_refusal:
        if lacks_knowledge and not cites_sources:
            gap_kind = "No documentation found"
        elif lacks_knowledge:
            gap_kind = "Answer unsure despite sources"
        elif question_type == "feature_request" and not is_supported:
            gap_kind = "Feature requested, not available"
        elif has_negative_feedback and not cites_sources and not NO_ACCESS.search(answer):
            # Confident but unsourced, and the user said it did not help: most likely an
            # answer the docs could not back.
            gap_kind = "Unsourced answer marked unhelpful"
    return Grounding(
        is_answer_confident=is_confident,
        is_feature_supported=is_supported,
        is_documented=gap_kind is None,
        gap_kind=gap_kind,
    )
