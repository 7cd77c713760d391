"""imugait.kinematics stage."""
