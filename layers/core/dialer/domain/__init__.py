"""Pure domain: enums, state machines, policies. No AWS, no I/O."""
