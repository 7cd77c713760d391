"""The report tests use the export tests' analysed bundled recording."""

from tests.export.conftest import analysis, rec_path, samples

__all__ = ["analysis", "rec_path", "samples"]
