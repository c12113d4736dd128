"""Use cases the handlers call: one function per thing a handler does."""
