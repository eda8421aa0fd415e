"""Presentation only: tables, charts and the HTML report. No math here."""
