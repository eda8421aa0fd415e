"""The typed library layer: one estimate of training, serving or goodput from typed specs.

Below the fleet planner, the calibration and the public API, which all call it; above ``search`` and ``perf``.
Takes a :class:`~computeplan.workload.TransformerSpec`, a :class:`~computeplan.hardware.cluster.Cluster`, the
efficiency parameters and a job; reads no files and no environment.
"""
