"""The third face: the user's documents for other programs, over HTTP and MCP."""
