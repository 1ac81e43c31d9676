"""Meetings: conferences and their invitations, calendar files, CME, improvement actions."""
