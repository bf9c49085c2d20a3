"""The evidence recorder: joins a room as a system participant and writes the archive files."""
