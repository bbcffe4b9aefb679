"""Measurement (SPEC section 4): what trained agents did, read from recorded episodes; a new metric goes here."""
