"""Answer: retrieve passages, build the prompt, stream the answer, check its citations."""
