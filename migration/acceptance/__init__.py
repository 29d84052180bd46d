"""Acceptance of a delivery (recette): claim deadline, report, draft claim letter, redeliveries."""
