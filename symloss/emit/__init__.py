"""Code generation, one backend per target (NumPy today): straight-line programs into
scratch buffers, integer-label specializations, the kernel module templates.

In: derivations and proved rules.  Out: kernel source text.
"""
