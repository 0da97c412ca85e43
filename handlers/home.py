"""App Home: how to use the bot, and the open incidents."""

from __future__ import annotations

import asyncio

from bot.render_blocks import home_view
from handlers.errors import later


def register(app) -> None:
    app.event("app_home_opened")(on_home_opened)


async def on_home_opened(event, body, context, client, services) -> None:
    if event.get("tab", "home") != "home":
        return
    later(publish_home(client, services, event["user"]), body=body, context=context)


async def publish_home(client, services, user_id: str) -> None:
    incidents = None
    if services.store is not None:
        incidents = await asyncio.to_thread(services.store.list, "active")
    await client.views_publish(user_id=user_id, view=home_view(incidents))
