"""JobQueryFunction: the read routes (a job's current status, a project's jobs, a job's history, a report lookup)."""
