"""Windows of the tray app. They talk only to the :class:`~desktop.bridge.GatewayBridge`."""
