"""Wire models: exactly the shapes of the Inkeep Analytics API, and nowhere else.

They know no storage: ``convoscope.api.wire`` turns them into the store's records and
back. ``conversations``, ``feedback``, ``events``, ``threads``: the resources;
``query``: the DSL's requests and answers; ``common``: timestamps, properties, links;
``problems``: error bodies; ``privacy``, ``dashboard``, ``transfer``: ours.
"""
