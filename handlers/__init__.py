"""Thin Slack listeners, one module per surface; each exposes `register(app)`.

A listener acks and returns at once; what is left (call the core through bot.slash and
bot.services, render with bot.render_blocks, reply) runs through `handlers.errors.later`, which
tracks it and turns an exception into a one-line answer with an error id. Services arrive as the
`services` argument (put in the context by bot.app); nothing here is global.
"""
