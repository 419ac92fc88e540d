import asyncio

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

CHECK_TIMEOUT_SECONDS = 2.0


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


async def _channel_layer_answers() -> bool:
    """Round-trip one message through the channel layer (Redis in production)."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        channel = await layer.new_channel("healthz.")
    except Exception:
        return False
    try:
        await layer.send(channel, {"type": "healthz.ping"})
        message = await asyncio.wait_for(layer.receive(channel), CHECK_TIMEOUT_SECONDS)
        return message.get("type") == "healthz.ping"
    except Exception:
        return False
    finally:
        await _release(layer, channel)


async def _release(layer, channel: str) -> None:
    """Let the layer forget the probe's channel. Channels releases a consumer's
    channel by cancelling its pending receive; Redis Pub/Sub unsubscribes only
    then, so without this every check would leave a subscription behind."""
    pending = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)
    pending.cancel()
    await asyncio.gather(pending, return_exceptions=True)


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: 200 when the database and channel layer answer."""
    try:
        database = await asyncio.wait_for(
            sync_to_async(_database_answers)(), CHECK_TIMEOUT_SECONDS
        )
    except TimeoutError:
        database = False
    channel_layer = await _channel_layer_answers()
    healthy = database and channel_layer
    return JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "database": database,
            "channel_layer": channel_layer,
        },
        status=200 if healthy else 503,
    )
