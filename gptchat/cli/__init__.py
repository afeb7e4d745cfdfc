"""The command line: parse arguments, call the stages, print what they return."""
