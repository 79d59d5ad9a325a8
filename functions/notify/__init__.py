"""JobEventsFunction: turns changes of current items on the table's stream into EventBridge events."""
