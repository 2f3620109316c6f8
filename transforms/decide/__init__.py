"""Every stage's verdicts merged per record into cleaned or quarantined rows, reviewers'
decisions applied first."""
