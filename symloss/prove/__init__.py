"""The prover: claims in, verdicts out (proved / refuted / unknown), each proved verdict
cross-checked numerically in mpmath; worked examples recomputed at 50 digits.

In: :class:`~symloss.declare.loss.Claim`.  Out: :class:`~symloss.prove.verdict.Verdict`.
"""
