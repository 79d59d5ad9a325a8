"""Domain exceptions. `jobstatus.http` maps each one to one HTTP status and one DLI error code."""


class ServiceError(Exception):
    """A request that cannot be served as asked; `message` is safe to show the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ServiceError):
    """The body, a field, the path or a query parameter breaks the contract."""


class NotFound(ServiceError):
    """The project has no such job, or no report with that message_id (DLI.0002)."""


class PayloadTooLarge(ServiceError):
    """A job would not fit one DynamoDB item."""


class PayloadConflict(ServiceError):
    """The message_id was already used with a different payload in this project."""


class DependencyUnavailable(ServiceError):
    """DynamoDB failed in a way that a retry can cure."""
