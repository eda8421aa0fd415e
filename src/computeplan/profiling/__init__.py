"""Calibrate on your own hardware: microbenchmarks -> a device profile -> predictions checked on real steps.

``computeplan profile`` runs PyTorch microbenchmarks (:mod:`.microbench`) and fits the efficiency curves the
performance models use (:mod:`.device_profile`); ``computeplan measure`` times real training steps and decode loops
of small Llama-style models on the same device and compares them with the models' predictions from the profile
(:mod:`.measure`). PyTorch is an optional extra (``pip install computeplan[profile]``) imported only here, inside
the functions that measure; reading a profile and predicting from it need no PyTorch.
"""
