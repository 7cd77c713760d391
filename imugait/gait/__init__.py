"""imugait.gait stage."""
