"""Metrics: seizure alarms and event metrics, encoding correlations."""
