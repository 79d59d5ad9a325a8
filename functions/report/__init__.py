"""JobReportFunction: validates an edge job report, records its message_id, stores every status."""
