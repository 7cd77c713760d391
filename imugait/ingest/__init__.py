"""imugait.ingest stage."""
