"""Background delivery of the outbox (mails, Slack notifications) inside `ditbot serve`."""
