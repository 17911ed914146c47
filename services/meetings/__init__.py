"""The meetings service: bodies, their meetings, agendas, minutes and adjustment."""
