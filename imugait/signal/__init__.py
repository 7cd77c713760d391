"""imugait.signal stage."""
