"""What every page shares: session state, URL sync, the cached model and its plan views, widgets."""
