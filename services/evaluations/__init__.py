"""The evaluations service: evaluations that follow up agreements, letters of intent, bodies and cases."""
