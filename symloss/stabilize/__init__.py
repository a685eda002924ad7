"""Numerically stable forms: rewrite rules as data, each a proved identity, and the
stable primitives they rewrite into.

In: expressions of a derivation.  Out: stable expressions and the proved rules applied.
"""
