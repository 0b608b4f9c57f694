"""The Great Expectations project configuration, shipped inside the package as data."""
