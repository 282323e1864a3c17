"""Scheduled reports: the daily summary, weekly resource trends and monthly energy cost."""
