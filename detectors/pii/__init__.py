"""Personal data and secrets in text: presidio recognizers, the scanner, redaction."""
