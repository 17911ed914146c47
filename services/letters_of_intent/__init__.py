"""The letters of intent service: letters of intent and collaboration agreements, with their follow-up."""
