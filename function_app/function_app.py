"""Azure Functions (Python v2 programming model): the emotional-event generator.

- ``generate`` (HTTP, function key): generate on demand, e.g. POST /api/generate {"rows": 10000}.
- ``generate_on_schedule`` (timer, %GENERATOR_SCHEDULE%): one batch of GENERATOR_BATCH_ROWS per tick,
  retried with exponential backoff when storage fails.
The work is in ``emotion_events.triggers``; this file only registers it.
"""

import azure.functions as func

from emotion_events import triggers

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.function_name("generate")
@app.route(route="generate", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def generate(req: func.HttpRequest) -> func.HttpResponse:
    return triggers.handle_http(req)


@app.function_name("generate_on_schedule")
@app.timer_trigger(schedule="%GENERATOR_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@app.retry(strategy="exponential_backoff", max_retry_count="4",
           minimum_interval="00:00:10", maximum_interval="00:05:00")
def generate_on_schedule(timer: func.TimerRequest) -> None:
    triggers.handle_timer(timer)
