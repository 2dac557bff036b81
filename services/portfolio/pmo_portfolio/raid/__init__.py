"""The RAID log: risks, assumptions and issues at project, programme and portfolio level, with escalation."""
