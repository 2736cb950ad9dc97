"""Analyzers that fill annotation fields; `offline.OfflineAnalyzer` needs no network or LLM.

The field modules are named by what they produce (`languages`, `sentiment`, `emotions`,
`question_types`, `entities`, `grounding`, `clarity`, `relevance`, `subjects`,
`categories`); `embeddings` and `minilm_graph` run the sentence-embedding model.
"""
