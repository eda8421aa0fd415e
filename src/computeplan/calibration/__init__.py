"""Accuracy against published measured runs: read them, predict each with its exact layout, fit the few
efficiency parameters per chip family, and report the error.

One machinery serves every calibrated model: ``runs`` reads a file (bad rows skipped with the reason), ``model``
is what a model provides (``training``, ``serving``), ``fit`` the one least-squares fit over a parameter space
(:class:`computeplan.catalog.efficiency_schema.ParameterSpace`), ``validate`` the one loop and row result,
``loso`` the leave-one-source-out evaluation (the headline), ``report`` the Markdown of docs/ACCURACY.md, and
``service`` the entry points the API calls.
"""
