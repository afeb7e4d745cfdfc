"""Languages: telling which one a text is in, and translating between them."""
