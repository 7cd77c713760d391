"""imugait.sim stage."""
