"""Learn: training examples from feedback, question sets and documents; train; gate; version."""
