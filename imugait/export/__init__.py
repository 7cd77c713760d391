"""imugait.export stage."""
