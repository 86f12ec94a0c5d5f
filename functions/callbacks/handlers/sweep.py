"""Schedule entry point: every few minutes, alert the staff about every request never emailed.

Event in, logic call, done. The function trusts its schedule (it is only ever invoked when its own
schedule fires), so the event's content is not read. The logic is ``alerting.send_unsent_alerts``,
through the same ``alert_staff`` as the stream.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from callbacks.core.observability import logger, metrics
from callbacks.core.settings import get_settings, require
from callbacks.logic.alerting import send_unsent_alerts

# Beyond the table and the origins, what this entry point needs set; on Lambda, checked at cold start.
REQUIRED_SETTINGS: tuple[str, ...] = ("sender_email", "office_emails", "api_base_url")
require(*REQUIRED_SETTINGS)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = send_unsent_alerts(
        get_settings(), seconds_left=lambda: context.get_remaining_time_in_millis() / 1000
    )
    return {"found": report.found, "stopped": report.stopped, **report.outcomes}
