"""SilenceSweepFunction: marks the active jobs that have gone silent, every minute, without reading the fleet."""
