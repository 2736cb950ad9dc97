"""Names and locations through Microsoft Presidio (the ``convoscope[pii]`` extra), offline.

Nothing is fetched, at import or at run time:

- the spaCy pipeline is loaded from an installed package or a directory
  (``CONVOSCOPE_PII_MODEL``) with ``spacy.load``; Presidio's own loader would call
  ``spacy.cli.download`` for a model it does not find, so it is not used;
- tldextract, which Presidio imports for its email recognizer, fetches the public suffix
  list on first use unless told not to: it is given its bundled snapshot and no URLs,
  and no cache directory to write.

Only Presidio's named-entity recognizer is registered: emails, phones, cards and the rest
are the regular detectors' (redaction/detectors.py), which check what Presidio does not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from convoscope.redaction.detectors import Finding, Kind

# Presidio's entity names for the kinds it finds.
_ENTITIES = {"PERSON": Kind.PERSON, "LOCATION": Kind.LOCATION}


def keep_tldextract_offline() -> None:
    """Point tldextract at its bundled suffix list, with no URL to fetch and no cache."""
    # Read by tldextract when its module-level extractor is built (at first import).
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    import tldextract.tldextract as module

    module.TLD_EXTRACTOR = module.TLDExtract(suffix_list_urls=(), cache_dir=None)


def is_available() -> bool:
    """Whether the extra is installed (presidio-analyzer and spaCy import)."""
    try:
        import presidio_analyzer  # noqa: F401
        import spacy  # noqa: F401
    except ImportError:
        return False
    return True


class PresidioRecognizer:
    """Finds people and places with a spaCy pipeline through Presidio's analyzer."""

    kinds = frozenset(_ENTITIES.values())

    def __init__(self, model: str | Path, *, min_score: float = 0.5) -> None:
        keep_tldextract_offline()
        import spacy
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        name = str(model)
        if not (spacy.util.is_package(name) or Path(name).is_dir()):
            raise ValueError(
                f"no spaCy pipeline {name!r}: install one as a package (e.g. en_core_web_sm) "
                "or give the directory of one; none is downloaded"
            )
        engine: Any = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": name}])
        engine.nlp = {"en": spacy.load(name)}  # instead of engine.load(), which downloads
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.add_recognizer(SpacyRecognizer(supported_entities=list(_ENTITIES)))
        self._analyzer: Any = AnalyzerEngine(
            nlp_engine=engine, registry=registry, supported_languages=["en"]
        )
        self._min_score = min_score

    def find(self, text: str) -> Iterator[Finding]:
        for result in self._analyzer.analyze(text, language="en", entities=list(_ENTITIES)):
            if result.score >= self._min_score:
                kind = _ENTITIES[result.entity_type]
                yield Finding(kind, result.start, result.end, text[result.start : result.end])


def use_configured_model(model: str) -> None:
    """Install the recognizer for ``CONVOSCOPE_PII_MODEL`` (empty: none) for this process."""
    from convoscope.redaction import use_named_entities

    use_named_entities(PresidioRecognizer(model) if model else None)
