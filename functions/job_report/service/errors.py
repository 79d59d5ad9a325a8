"""Domain exceptions. `service.api` maps each one to one HTTP status and one DLI error code."""


class ReportError(Exception):
    """A report that cannot be accepted; `message` is safe to show the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidReport(ReportError):
    """The body, a field or the path breaks the contract."""


class ReportTooLarge(ReportError):
    """A job would not fit one DynamoDB item."""


class PayloadConflict(ReportError):
    """The message_id was already used with a different payload in this project."""


class DependencyUnavailable(ReportError):
    """DynamoDB failed in a way that a retry with the same message_id can cure."""
