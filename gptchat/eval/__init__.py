"""Eval: question sets, the field's metrics, scored runs and golden sets."""
