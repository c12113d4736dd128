"""SQS batch processing shared by every queue consumer: partial failures, and a failure that says
which message failed and why (it returns to the queue, and after maxReceiveCount to its DLQ)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

from dialer.observability import get_logger, get_metrics


class ReportingBatchProcessor(BatchProcessor):
    """Powertools' SQS BatchProcessor that logs and counts each failed record."""

    def __init__(self, *, failure_message: str, failure_metric: str) -> None:
        super().__init__(event_type=EventType.SQS)
        self.failure_message = failure_message
        self.failure_metric = failure_metric

    def failure_handler(self, record: Any, exception: Any) -> Any:  # Powertools hook
        """Log the failed record's id and error, count it, then let Powertools mark it failed."""
        exc_type, exc_value, _ = exception
        get_logger().warning(
            self.failure_message,
            message_id=getattr(record, "message_id", None),
            error_type=getattr(exc_type, "__name__", str(exc_type)),
            error=str(exc_value),
        )
        get_metrics().add_metric(name=self.failure_metric, unit="Count", value=1)
        return super().failure_handler(record, exception)
