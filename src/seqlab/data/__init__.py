"""Raw data: fetching with checksums and strict parsers, one per file format."""
