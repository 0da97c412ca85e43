"""Thin Slack listeners, one module per surface; each exposes `register(app)`.

A listener acks, parses the payload, calls the core through bot.slash / bot.services, renders with
bot.render_blocks and replies. Services arrive as the `services` argument (put in the context by
bot.app); nothing here is global.
"""
