"""The ``hookwire`` command line (a click application); ``main`` is its entry point."""
