"""Pure policies over plain data: calling compliance (windows, consent, DNC, caps). No AWS, no I/O."""
