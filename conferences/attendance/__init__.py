"""Attendance: the roster, self check-in, recordings, and Zoom or Teams report imports."""
