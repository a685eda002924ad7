"""Users' own claims: safe readers for plain-text and LaTeX formulas and assumptions,
``symloss verify`` and ``symloss audit``.

In: text.  Out: verdicts and audit rows.
"""
