"""Teaching cases: anonymized cases and their images, agendas, the deck, presenting, votes."""
