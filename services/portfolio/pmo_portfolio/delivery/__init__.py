"""Delivery: projects from approval to closure; gates, status reports, change requests, lessons, benefits."""
