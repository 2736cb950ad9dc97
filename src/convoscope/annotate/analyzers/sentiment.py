"""`sentiment`: positive / neutral / negative, of the user's question.

English text is scored by VADER (compound, -1..1) plus a support-domain lexicon; other
languages by the lexicon alone (VADER's lexicon is English). The lexicon fixes VADER's
misses on support text: "The export button doesn't work." scores 0.0 in VADER, "daily
payouts are a nightmare" +0.32 (because of "please"), "doesn't find" +0.27.
"""

from __future__ import annotations

from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
    SentimentIntensityAnalyzer,
)

from convoscope.annotate.analyzers.lexicon import PhraseSet
from convoscope.annotate.model import Sentiment

# Complaints and reports that something is wrong. One hit is enough for "negative".
# fmt: off
NEGATIVE = PhraseSet(
    [
        # en
        "doesn't work", "does not work", "don't work", "not working", "isn't working",
        "stopped (?:working|arriving)", "broken", "useless", "nightmare", "unacceptable",
        "ridiculous", "terrible", "awful", "horrible", "frustrat\\w*", "annoy\\w*",
        "driving me nuts", "waste of time", "(?:keeps?|kept) (?:getting|failing|crashing)",
        "crash(?:es|ed|ing)?", "stuck", "still (?:not|doesn't|don't|can't|failing|broken)",
        "again", "lost (?:my|a|the|all)", "disappeared", "can't (?:log|find|see|access|get)",
        "doesn't (?:find|show|load|arrive)", "cut off", "lose[s]? ", "charged twice",
        "double charged", "complain\\w*", "considering (?:moving|switching|leaving)", "panick?ing",
        "wrong", "where is my money", "no explanation", "nobody (?:told|answers)", "killing",
        "really bad", "empty", "too slow", "so slow", "painful", "unable to load", "not right",
        "at all", "hasn't moved",
        "(?:for|since) (?:an?|one|two|three|\\d+) (?:hours?|days?|weeks?)", "fed up", "not happy",
        "unhappy", "disappointed", "forever", "anymore", "every other day", "sick of",
        "doesn't match", "don't match",
        # de
        "funktioniert nicht", "klappt nicht", "geht nicht", "kaputt", "ärgerlich", "nervig",
        "verliere (?:ich )?(?:die )?geduld", "bricht (?:immer )?(?:\\w+ )?ab",
        "versteh\\w* (?:\\w+ )?nicht", "endlich", "seit (?:einem|einer|heute|gestern)", "nervt",
        "ständig", "immer wieder",
        # fr
        "ne fonctionne pas", "ne marche pas", "marche pas", "agaçant", "pénible", "n'importe quoi",
        "plante", "échoue", "bloqué", "inacceptable", "grisé", "énervant", "fausses?",
        # es
        "no funciona", "inaceptable", "desesperación", "qué desesperación", "no entiendo",
        "ya no sé", "nadie me responde", "que no entiendo", "desesperante", "tarda muchísimo",
        # pt
        "não funciona", "absurdo", "travando", "apagou", "quero meu dinheiro", "que chato",
        "de novo", "caiu",
        # ja
        "動かない", "困っています", "落ちています", "消えてしま", "エラーが出", "ヒットしません",
        "なってしまいます", "失敗します",
    ]
)
# fmt: on
# Gratitude and praise. "Would be great to have ..." in a feature request counts too: the
# user is asking nicely.
# fmt: off
POSITIVE = PhraseSet(
    [
        # en
        "thanks?", "thank you", "thx", "cheers", "(?:that|it) (?:fixed|worked|works)", "fixed it",
        "worked", "perfect", "awesome", "amazing", "love", "great", "excellent", "saved my day",
        "super helpful", "helpful", "nice", "glad", "appreciate\\w*", "brilliant",
        "(?:much )?obliged", "sorted",
        # de
        "danke", "vielen dank", "dank", "super", "klappt alles", "hat (?:super )?funktioniert",
        "toll",
        # fr
        "merci", "parfait", "génial",
        # es
        "gracias", "genial", "(?:ser(?:ía|ia)|seria|serait) (?:top|útil|genial|ótimo)",
        "me salvaste", "funciona perfectamente", "me sirvió",
        # pt
        "obrigad[oa]", "brigad[oa]", "valeu", "funcionou", "deu certo", "resolveu", "ajudou",
        "ótimo", "muito útil",
        # ja
        "ありがと", "助かりました", "解決しました", "ぜひ",
    ]
)
# fmt: on
# A statement (no question mark) that something did not happen is a complaint in support
# chats: "My bank feed hasn't pulled any transactions since Monday."
# fmt: off
NEGATED_STATEMENT = PhraseSet(
    [
        "(?:hasn't|haven't|isn't|aren't|doesn't|don't|didn't|won't|wasn't|weren't) \\w+",
        "nicht mehr", "ne \\w+ (?:pas|plus)", "no (?:se )?\\w+(?:a|e|en|an)\\b", "não \\w+",
        "ていません", "できません", "されません",
    ]
)
# fmt: on
# A negative hit outweighs a polite "please"/"thanks" in the same complaint.
NEGATIVE_WEIGHT = 0.6
POSITIVE_WEIGHT = 0.5
# VADER's own ±0.05 band calls polite how-to questions positive; support text needs more.
VADER_WEIGHT = 0.5
THRESHOLD = 0.25


class SentimentScorer:
    def __init__(self) -> None:
        self._vader = SentimentIntensityAnalyzer()

    def score(self, prose: str, language: str) -> float:
        """A score in about -2..2; below -THRESHOLD is negative, above +THRESHOLD positive."""
        score = POSITIVE_WEIGHT * min(POSITIVE.count(prose), 2)
        negatives = NEGATIVE.count(prose)
        if "?" not in prose and "？" not in prose and NEGATED_STATEMENT.search(prose):
            negatives += 1
        score -= NEGATIVE_WEIGHT * min(negatives, 2)
        if language == "en":
            score += VADER_WEIGHT * float(self._vader.polarity_scores(prose)["compound"])
        return score

    def classify(self, prose: str, language: str) -> Sentiment:
        score = self.score(prose, language)
        if score <= -THRESHOLD:
            return "negative"
        if score >= THRESHOLD:
            return "positive"
        return "neutral"
