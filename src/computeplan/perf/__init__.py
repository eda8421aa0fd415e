"""Pure performance math (no I/O): FLOPs, memory, collectives, training step, prefill/decode, goodput.
Built by the training, inference and goodput issues."""
