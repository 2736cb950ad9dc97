"""The analytics query DSL: parse a request, compile it to SQL, shape the rows.

See README.md in this package for the grammar and the SQL each part becomes.
"""
