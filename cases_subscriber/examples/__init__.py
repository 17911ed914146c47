"""Examples of subscribers built with the kit."""
