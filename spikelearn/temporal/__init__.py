"""Time and events: tasks that need memory, event-camera data and its datasets. Tutorials 12-13."""
