"""Page views, split by topic: conferences, attendance, improvement actions."""
