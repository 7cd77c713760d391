"""imugait.ingest.protocols stage."""
