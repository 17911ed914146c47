"""The initiatives service: initiatives (initiativärenden) and motions, from submission to closure."""
