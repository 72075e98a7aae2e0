"""Domain rules of exchanges on a DIT. Knows nothing of Slack or HTTP."""
