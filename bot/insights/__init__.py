"""Figures for people: statistics, charts and exports."""
