"""Declarations: notation (symbols, domains, LaTeX names), the loss functions' vocabulary,
``Loss``/``Claim``/``Example``, likelihoods and the catalog of declaration files.

In: declaration files (plain Python).  Out: frozen :class:`~symloss.declare.loss.Loss` objects.
"""
