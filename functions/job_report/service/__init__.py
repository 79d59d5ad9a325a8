"""The job-report service: validation, the report use case and its DynamoDB storage."""
