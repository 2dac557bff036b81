"""Delivery's pure rules: the Project, gates, status reports and earned value, change requests, lessons, benefits."""
