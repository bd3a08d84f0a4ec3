"""Stand-in for litellm/integrations/custom_logger.py: the base class of callbacks, its async event methods."""


class CustomLogger:
    def __init__(self, **kwargs):
        self.message_logging = kwargs.get("message_logging", True)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        pass

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
        pass
