"""The revenue report, grouped by location or day."""
