"""Derivation chains: loss -> gradient -> Hessian, each step a claim checked by the prover.

In: a :class:`~symloss.declare.loss.Loss`.  Out: a :class:`~symloss.derive.chain.chain.Derivation`.
"""
