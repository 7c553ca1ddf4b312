"""PHI at rest: envelope encryption of PHI columns (a data key per tenant wrapped by a key-encryption key),
keyed blind indexes for the columns searched by equality, and the append-only PHI access log."""
