"""Record types, reason codes and the Arrow schemas of every output."""
