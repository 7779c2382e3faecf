"""Looking inside a spiking network: activity and gradient monitors, plots and widgets."""
