"""Resourcing service: resources, capacity, demand from approved projects, and allocations."""
