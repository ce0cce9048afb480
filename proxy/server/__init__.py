"""The aiohttp layer: middlewares, handlers and stream relay."""
