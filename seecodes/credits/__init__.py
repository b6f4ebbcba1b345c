"""The credit ledger: debits for runs, refunds for failed runs, read back as usage rows."""
