"""Accuracy certificates: kernels sampled over their declared domains and a stress grid,
compared with the declared formula evaluated in high precision.

In: kernels and derivations.  Out: certificates (worst error in ulps, non-finite counts, sampling).
"""
