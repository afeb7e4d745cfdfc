"""Text that both faces show: answers and sources, index reports, model versions, eval runs."""
