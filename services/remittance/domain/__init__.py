"""Remittance domain: 835 model, parser and balancing. Pure: no I/O."""
