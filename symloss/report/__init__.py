"""The report: LaTeX through Jinja2 templates (derivations, proofs, stable forms,
certificates, worked examples, plots), built to PDF; plain-text tables.

In: the results of every earlier stage.  Out: .tex files and the PDF.
"""
